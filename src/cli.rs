//! Command-line definitions (clap). The doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Isolated, reproducible Python environments without root.
#[derive(Debug, Parser)]
#[command(name = "envtool", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// Options every command accepts.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Print less (repeat for even less).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,
    /// Print more (repeat for more).
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Colour: only on a terminal by default; NO_COLOR is honoured.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// The cache directory [env: ENVTOOL_CACHE_DIR] (default: the platform cache dir).
    #[arg(long, global = true, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Use a throw-away cache for this run.
    #[arg(long, global = true)]
    pub no_cache: bool,
    /// Never touch the network: only the cache and --find-links [env: ENVTOOL_OFFLINE=1].
    #[arg(long, global = true)]
    pub offline: bool,
    /// The primary package index (Simple API) [env: ENVTOOL_INDEX_URL].
    #[arg(long, global = true, value_name = "URL")]
    pub index_url: Option<String>,
    /// More indexes (repeatable) [env: ENVTOOL_EXTRA_INDEX_URL, space separated].
    #[arg(long, global = true, value_name = "URL")]
    pub extra_index_url: Vec<String>,
    /// Flat directories or pages of distribution files (repeatable) [env: ENVTOOL_FIND_LINKS].
    #[arg(long, short = 'f', global = true, value_name = "DIR|URL")]
    pub find_links: Vec<String>,
    /// Ignore all indexes; use only --find-links.
    #[arg(long, global = true)]
    pub no_index: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create a PEP 405 virtual environment.
    Create(CreateArgs),
    /// Run a command inside an environment.
    Run(RunArgs),
    /// List or find the Python interpreters envtool can see.
    #[command(subcommand)]
    Python(PythonCommand),
}

#[derive(Debug, Args)]
pub struct CreateArgs {
    /// Where to create the environment.
    #[arg(default_value = ".venv")]
    pub dir: PathBuf,
    /// The interpreter: a version (3.12, 3.12.1), a name (python3.12) or a path. Default: python3 on PATH.
    #[arg(long, short = 'p', value_name = "PY")]
    pub python: Option<String>,
    /// The name shown in the shell prompt when the environment is active (default: DIR's name).
    #[arg(long)]
    pub prompt: Option<String>,
    /// Give the environment access to the interpreter's own site-packages.
    #[arg(long)]
    pub system_site_packages: bool,
    /// Replace DIR if it is already an environment.
    #[arg(long)]
    pub clear: bool,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The environment.
    pub dir: PathBuf,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<std::ffi::OsString>,
}

#[derive(Debug, Subcommand)]
pub enum PythonCommand {
    /// List every interpreter found on PATH, under pyenv and in the system directories.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Print the path of the interpreter a request selects (the same rules as `create --python`).
    Find {
        /// A version (3.12), a name (python3.12) or a path. Default: python3 on PATH.
        request: Option<String>,
    },
}
