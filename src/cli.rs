//! Command-line definitions (clap). The doc comments are the help text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

pub use crate::output::ColorChoice;

/// Isolated, reproducible Python environments without root.
#[derive(Debug, Parser)]
#[command(name = "envtool", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub globals: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command accepts (listed under their own heading, after the command's own).
#[derive(Debug, Clone, Args)]
#[command(next_help_heading = "Global options")]
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
    /// Resolve and install requirements into an environment.
    Install(InstallArgs),
    /// Remove distributions (and their scripts) from an environment.
    Uninstall(UninstallArgs),
    /// List the distributions installed in an environment.
    List(ListArgs),
    /// Pin every installed distribution (pip freeze format, or a PEP 751 pylock.toml).
    Freeze(FreezeArgs),
    /// Resolve without installing and write a lock (pylock.toml, or requirements with hashes for *.txt).
    Lock(LockArgs),
    /// Make an environment match a lock exactly: install, change and remove.
    Sync(SyncArgs),
    /// Run a command inside an environment.
    Run(RunArgs),
    /// Pack an environment into one self-contained executable file (or --inspect one).
    Pack(PackArgs),
    /// Command-line tools, each in its own environment, exposed by shims on PATH.
    #[command(subcommand)]
    Tool(ToolCommand),
    /// Expose an environment's console scripts as shims.
    Shim(ShimArgs),
    /// Inspect and maintain the cache.
    #[command(subcommand)]
    Cache(CacheCommand),
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
    /// Also install pip into the environment.
    #[arg(long)]
    pub seed: bool,
    /// Install exactly what this lock file (pylock.toml) pins.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<PathBuf>,
    #[command(flatten)]
    pub reqs: ReqArgs,
    #[command(flatten)]
    pub install: InstallOpts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FreezeFormat {
    Requirements,
    Pylock,
}

#[derive(Debug, Args)]
pub struct FreezeArgs {
    /// The environment (default: $VIRTUAL_ENV, else ./.venv).
    pub dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = FreezeFormat::Requirements)]
    pub format: FreezeFormat,
    /// Add --hash=sha256:... of the file each distribution was installed from.
    #[arg(long)]
    pub hashes: bool,
    /// Include pip, setuptools, wheel and distribute (excluded by default, as pip does).
    #[arg(long)]
    pub all: bool,
    /// Write to FILE instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Skip damaged distributions (with a warning) instead of failing.
    #[arg(long)]
    pub ignore_broken: bool,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    #[command(flatten)]
    pub reqs: ReqArgs,
    /// The interpreter to lock for (default: python3 on PATH).
    #[arg(long, short = 'p', value_name = "PY")]
    pub python: Option<String>,
    /// Where to write: pylock.toml (PEP 751), or requirements with hashes when it ends in .txt.
    #[arg(short = 'o', long, value_name = "FILE", default_value = "pylock.toml")]
    pub output: PathBuf,
    /// Allow pre-releases.
    #[arg(long)]
    pub pre: bool,
    /// Lock for this Python version instead of the interpreter's (`3.9` means 3.9.0).
    #[arg(long, value_name = "X.Y[.Z]")]
    pub python_version: Option<String>,
    /// Lock for this platform instead of this machine's (`linux`, `x86_64-manylinux_2_17`, `aarch64-manylinux_2_28`, `macos`, `x86_64-apple-darwin`, `windows`).
    #[arg(long, value_name = "PLATFORM")]
    pub python_platform: Option<String>,
    /// Use only wheels for these packages (`:all:` for every package).
    #[arg(long, value_name = "NAMES")]
    pub only_binary: Vec<String>,
    /// Do not use wheels for these packages (`:all:` for every package).
    #[arg(long, value_name = "NAMES")]
    pub no_binary: Vec<String>,
}

#[derive(Debug, Args)]
pub struct SyncArgs {
    /// The environment, then the lock; with one argument, the lock (environment: $VIRTUAL_ENV, else ./.venv).
    #[arg(required = true, num_args = 1..=2, value_name = "DIR LOCKFILE")]
    pub paths: Vec<PathBuf>,
    /// How files get from the cache into the environment [env: ENVTOOL_LINK_MODE].
    #[arg(long, value_enum)]
    pub link_mode: Option<crate::install::link::LinkMode>,
    /// Byte-compile installed Python files.
    #[arg(long)]
    pub compile: bool,
    /// Print what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Drop the constraints and overrides the environment remembers (instead of checking the
    /// lock against them).
    #[arg(long)]
    pub forget_constraints: bool,
}

/// What to install.
#[derive(Debug, Clone, Default, Args)]
pub struct ReqArgs {
    /// Requirements (PEP 508, e.g. `six==1.16.0`, `flask>=2`), or paths/URLs of wheels.
    #[arg(value_name = "REQ")]
    pub reqs: Vec<String>,
    /// Install from a requirements file, a path or an http(s) URL (repeatable).
    #[arg(short = 'r', long = "requirement", value_name = "FILE")]
    pub requirement: Vec<PathBuf>,
    /// Install a local project in editable mode (PEP 660): its source edits are live (repeatable).
    #[arg(short = 'e', long = "editable", value_name = "DIR")]
    pub editable: Vec<String>,
    /// Limit versions with a constraints file (repeatable) [env: ENVTOOL_CONSTRAINT].
    #[arg(short = 'c', long = "constraint", value_name = "FILE")]
    pub constraint: Vec<PathBuf>,
    /// Replace every requirement on a name, anywhere in the graph, with the file's (repeatable) [env: ENVTOOL_OVERRIDE].
    #[arg(long = "override", value_name = "FILE")]
    pub overrides: Vec<PathBuf>,
}

/// How to install.
#[derive(Debug, Clone, Default, Args)]
pub struct InstallOpts {
    /// Move every package to the newest allowed version instead of keeping installed ones.
    #[arg(short = 'U', long)]
    pub upgrade: bool,
    /// Move this package to the newest allowed version (repeatable).
    #[arg(short = 'P', long = "upgrade-package", value_name = "NAME")]
    pub upgrade_package: Vec<String>,
    /// Reinstall packages even if the same version is installed.
    #[arg(long)]
    pub reinstall: bool,
    /// Install only what is named, not its dependencies.
    #[arg(long)]
    pub no_deps: bool,
    /// Allow pre-releases.
    #[arg(long)]
    pub pre: bool,
    /// Demand a --hash for every requirement.
    #[arg(long)]
    pub require_hashes: bool,
    /// Use only wheels for these packages (`:all:` for every package).
    #[arg(long, value_name = "NAMES")]
    pub only_binary: Vec<String>,
    /// Do not use wheels for these packages (`:all:` for every package).
    #[arg(long, value_name = "NAMES")]
    pub no_binary: Vec<String>,
    /// How files get from the cache into the environment [env: ENVTOOL_LINK_MODE].
    #[arg(long, value_enum)]
    pub link_mode: Option<crate::install::link::LinkMode>,
    /// Byte-compile installed Python files.
    #[arg(long)]
    pub compile: bool,
    /// Print what would change, change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Drop the constraints and overrides the environment remembers from earlier runs.
    #[arg(long)]
    pub forget_constraints: bool,
}

#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The environment (default: $VIRTUAL_ENV, else ./.venv).
    #[arg(long, value_name = "DIR")]
    pub env: Option<PathBuf>,
    #[command(flatten)]
    pub reqs: ReqArgs,
    #[command(flatten)]
    pub install: InstallOpts,
}

#[derive(Debug, Args)]
pub struct UninstallArgs {
    /// The environment (default: $VIRTUAL_ENV, else ./.venv).
    #[arg(long, value_name = "DIR")]
    pub env: Option<PathBuf>,
    /// Distribution names.
    #[arg(required = true, value_name = "NAME")]
    pub names: Vec<String>,
    /// Print what would be removed, change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct ListArgs {
    /// The environment (default: $VIRTUAL_ENV, else ./.venv).
    pub dir: Option<PathBuf>,
    /// Print JSON: [{"name", "version", "installer", "source", "requested"}].
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum CacheCommand {
    /// Print the cache directory.
    Dir,
    /// Show the size of each cache bucket.
    Info {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Remove everything in the cache.
    Clean,
    /// Check every unpacked wheel against its RECORD (sizes and hashes).
    Verify {
        /// Remove damaged entries (they are fetched again when needed).
        #[arg(long)]
        repair: bool,
    },
    /// Remove what no longer belongs: leftovers, old formats, and with --older-than unused entries.
    Prune {
        /// Also remove entries not used for this many days.
        #[arg(long, value_name = "DAYS")]
        older_than: Option<f64>,
    },
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The environment (default: $VIRTUAL_ENV, else ./.venv).
    pub dir: Option<PathBuf>,
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

#[derive(Debug, Subcommand)]
pub enum ToolCommand {
    /// Install a tool in its own environment and put its commands on PATH.
    Install(ToolInstallArgs),
    /// List installed tools (broken ones are marked).
    List {
        /// Print JSON: one object per tool with what rebuilds it (`tool install-all` takes it back).
        #[arg(long)]
        json: bool,
    },
    /// Add packages to an installed tool's environment (as `tool install NAME --with PKG`).
    Inject {
        /// The installed tool.
        #[arg(value_name = "NAME")]
        name: String,
        /// Packages to add (PEP 508 requirements).
        #[arg(required = true, value_name = "REQ")]
        reqs: Vec<String>,
    },
    /// Install every tool a `tool list --json` lists, at the versions it lists.
    InstallAll {
        /// The JSON `envtool tool list --json` printed (on this machine or another).
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
    /// Remove tools and their shims.
    Uninstall {
        #[arg(required = true, value_name = "NAME")]
        names: Vec<String>,
    },
    /// Rebuild tools with the newest allowed versions (also repairs a tool whose interpreter is gone).
    Upgrade {
        /// Tools to upgrade.
        #[arg(value_name = "NAME", required_unless_present = "all")]
        names: Vec<String>,
        /// Upgrade every tool.
        #[arg(long, conflicts_with = "names")]
        all: bool,
        /// Rebuild even when nothing changed.
        #[arg(long)]
        reinstall: bool,
        /// The interpreter to rebuild with (default: the one the tool was installed with, else python3).
        #[arg(long, short = 'p', value_name = "PY")]
        python: Option<String>,
    },
    /// Run a tool without installing it (from a cached throw-away environment).
    Run(ToolRunArgs),
    /// Print the tool directory (or, with --bin, the shim directory).
    Dir {
        #[arg(long)]
        bin: bool,
    },
}

#[derive(Debug, Args)]
pub struct ToolInstallArgs {
    /// The tool's package: a PEP 508 requirement (`httpie`, `black<25`), or a project's path (`.`).
    #[arg(value_name = "REQ")]
    pub req: String,
    /// Append this to the tool's name and its commands' names (side-by-side versions: `--suffix @24`).
    #[arg(long, value_name = "S", default_value = "")]
    pub suffix: String,
    /// More packages in the tool's environment (repeatable).
    #[arg(long = "with", value_name = "REQ")]
    pub with: Vec<String>,
    /// Also expose the commands of this dependency (repeatable).
    #[arg(long, value_name = "PKG")]
    pub with_executables_from: Vec<String>,
    /// The interpreter (default: python3 on PATH).
    #[arg(long, short = 'p', value_name = "PY")]
    pub python: Option<String>,
    /// Reinstall an installed tool, and take over commands in the bin dir.
    #[arg(long)]
    pub force: bool,
    /// Allow pre-releases.
    #[arg(long)]
    pub pre: bool,
    /// Limit versions with a constraints file (repeatable; upgrades keep applying it).
    #[arg(short = 'c', long = "constraint", value_name = "FILE")]
    pub constraint: Vec<PathBuf>,
    /// Replace every requirement on a name with the file's (repeatable; upgrades keep applying it).
    #[arg(long = "override", value_name = "FILE")]
    pub overrides: Vec<PathBuf>,
}

#[derive(Debug, Args)]
pub struct ToolRunArgs {
    /// The command to run (also the package, unless --from names another).
    #[arg(value_name = "REQ")]
    pub req: String,
    /// The package that provides the command.
    #[arg(long, value_name = "REQ")]
    pub from: Option<String>,
    /// More packages in the environment (repeatable).
    #[arg(long = "with", value_name = "REQ")]
    pub with: Vec<String>,
    /// The interpreter (default: python3 on PATH).
    #[arg(long, short = 'p', value_name = "PY")]
    pub python: Option<String>,
    /// Arguments for the command (after `--`).
    #[arg(last = true, value_name = "ARGS")]
    pub args: Vec<std::ffi::OsString>,
}

#[derive(Debug, Args)]
pub struct ShimArgs {
    /// The environment.
    pub dir: PathBuf,
    /// Only these console scripts (default: all of them).
    #[arg(value_name = "SCRIPT")]
    pub scripts: Vec<String>,
    /// Where to put the shims [env: ENVTOOL_BIN_DIR] (default: ~/.local/bin).
    #[arg(long, value_name = "DIR")]
    pub bin_dir: Option<PathBuf>,
    /// Replace files in the bin dir that envtool did not create.
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct PackArgs {
    /// What to run: `module` (python -m module, the standard library's too), `module:object.attr`, or a command of the environment (a console script or a file in its bin/).
    #[arg(long, required_unless_present = "inspect")]
    pub entry: Option<String>,
    /// The file to write.
    #[arg(
        short = 'o',
        long,
        value_name = "OUT",
        required_unless_present = "inspect"
    )]
    pub output: Option<PathBuf>,
    /// Pack this environment's distributions.
    #[arg(long, value_name = "DIR", conflicts_with = "lock")]
    pub env: Option<PathBuf>,
    /// Pack what this lock file (pylock.toml) pins; with several --python, one lock for all or one per --python, in the same order.
    #[arg(long, value_name = "FILE")]
    pub lock: Vec<PathBuf>,
    #[command(flatten)]
    pub reqs: ReqArgs,
    /// The interpreter to resolve for, with --lock or requirements (default: python3 on PATH). Repeat it for one file that carries a wheel set per Python.
    #[arg(long, short = 'p', value_name = "PY")]
    pub python: Vec<String>,
    /// The interpreter command the pack runs (default: the one it was built with, else python3.X found at start).
    #[arg(long, value_name = "STR")]
    pub python_shebang: Option<String>,
    /// Carry the environment's interpreter, so the pack runs on a host with no Python.
    #[arg(long)]
    pub standalone: bool,
    /// Byte-compile the files when the pack is first extracted.
    #[arg(long)]
    pub compile: bool,
    /// Print what a pack holds: entry, Python requirement, platform tags, the embedded lock.
    #[arg(long, value_name = "PACK", conflicts_with_all = ["entry", "output"])]
    pub inspect: Option<PathBuf>,
}

impl GlobalArgs {
    /// The options as the settings layer takes them.
    pub fn options(&self) -> crate::settings::GlobalOptions {
        crate::settings::GlobalOptions {
            cache_dir: self.cache_dir.clone(),
            no_cache: self.no_cache,
            offline: self.offline,
            index_url: self.index_url.clone(),
            extra_index_url: self.extra_index_url.clone(),
            find_links: self.find_links.clone(),
            no_index: self.no_index,
        }
    }
}

impl ReqArgs {
    /// What to install, as the pipeline takes it.
    pub fn sources(&self, require_hashes: bool) -> crate::requirements::request::Sources {
        crate::requirements::request::Sources {
            reqs: self.reqs.clone(),
            editables: self.editable.clone(),
            requirement_files: self.requirement.clone(),
            constraint_files: self.constraint.clone(),
            override_files: self.overrides.clone(),
            require_hashes,
            ..Default::default()
        }
    }
}

impl InstallOpts {
    /// How to install, as the pipeline takes it.
    pub fn options(&self) -> crate::pipeline::InstallOptions {
        crate::pipeline::InstallOptions {
            upgrade: self.upgrade,
            upgrade_package: self.upgrade_package.clone(),
            reinstall: self.reinstall,
            no_deps: self.no_deps,
            pre: self.pre,
            only_binary: self.only_binary.clone(),
            no_binary: self.no_binary.clone(),
            link_mode: self.link_mode,
            compile: self.compile,
            dry_run: self.dry_run,
            forget_constraints: self.forget_constraints,
        }
    }
}
