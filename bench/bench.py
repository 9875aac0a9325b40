#!/usr/bin/env python3
"""Benchmark harness: envtool against its peers (uv, virtualenv, python -m venv, ...).

Python 3.8+ standard library only.  See bench/README.md.

    python3 bench/bench.py                  # every workload
    python3 bench/bench.py create --rounds 30 --json out.json
    python3 bench/bench.py --list

Each workload names a list of tools and a baseline.  Every tool's command runs
--rounds times, interleaved (one run of each tool per round, the starting tool
rotating every round), after --warmup rounds that are not counted.  Each run
gets a fresh empty temporary directory (created and removed outside the timed
region); the venv target is DIR/venv inside it, which does not exist yet.
"""

import argparse
import collections
import datetime
import gc
import glob
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BENCH_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(BENCH_DIR)
PEERS_DIR = os.path.join(BENCH_DIR, ".peers")
CACHE_DIR = os.path.join(BENCH_DIR, ".cache")
PINNED_REQUIREMENTS = os.path.join(BENCH_DIR, "workloads", "httpie-requirements.txt")

# Peer package name -> pip requirement.  Pin here (e.g. "uv==0.13.9") to freeze
# a comparison; the versions in use are always printed in the header.
PEER_REQUIREMENTS = {
    "uv": "uv",
    "virtualenv": "virtualenv",
    # later: "pex": "pex", "shiv": "shiv", "pipx": "pipx",
}
# Peer package -> the console script whose `--version` goes in the header.
PEER_VERSION_COMMANDS = {
    "uv": ["uv", "--version"],
    "virtualenv": ["virtualenv", "--version"],
}

# Inherited variables dropped from the children's environment so that a
# developer's shell cannot change what is measured.
DROP_ENV_EXACT = ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME")
DROP_ENV_PREFIXES = ("UV_", "ENVTOOL_", "VIRTUALENV_")


def die(msg, hint=None):
    print("error: " + msg, file=sys.stderr)
    if hint:
        print("hint: " + hint, file=sys.stderr)
    sys.exit(1)


def warn(msg):
    print("warning: " + msg, file=sys.stderr)


# --------------------------------------------------------------------------
# Workload registry
# --------------------------------------------------------------------------

# label: shown in the table; argv: function(target_dir) -> list of str;
# env: environment variables for this tool only (or None); a value of None
# removes the variable.  prime: a Tool run once, untimed, before the warm-up
# rounds (to fill a cache), or None.
Tool = collections.namedtuple("Tool", "label argv env prime", defaults=(None, None))

# fn(ctx) -> (list of Tool, baseline label).  peers: PEER_REQUIREMENTS keys
# installed into bench/.peers before the workload runs.  target: optional
# (label, max ratio) goal, printed as met / not met.  cold: runs --cold-rounds
# rounds, no warm-up, at most one GNU time run.  expect: distribution names
# that must be installed in the venv after every run.
Workload = collections.namedtuple("Workload", "name help peers fn target cold expect")

WORKLOADS = collections.OrderedDict()
# Group name -> workload names, accepted on the command line.
GROUPS = collections.OrderedDict()


def workload(name, help, peers=(), target=None, cold=False, expect=(), group=None):
    def register(fn):
        WORKLOADS[name] = Workload(name, help, tuple(peers), fn, target, cold, tuple(expect))
        if group:
            GROUPS.setdefault(group, []).append(name)
        return fn

    return register


@workload(
    "create",
    "create an empty venv, every tool given the same explicit real interpreter",
    peers=("uv", "virtualenv"),
)
def wl_create(ctx):
    py = ctx.python
    uv_flags = ctx.uv_venv_flags()
    return [
        Tool("envtool create", lambda d: [ctx.envtool, "create", d, "--python", py]),
        Tool("uv venv", lambda d: [ctx.peer("uv"), "venv", d, "--python", py] + uv_flags),
        Tool("python -m venv", lambda d: [py, "-m", "venv", "--without-pip", d]),
        Tool("virtualenv", lambda d: [ctx.peer("virtualenv"), "--no-seed", "-p", py, d]),
    ], "uv venv"


@workload(
    "create-default",
    "create an empty venv naming no interpreter: python from PATH (the pyenv shim here)",
    peers=("uv",),
    target=("envtool create", 0.2),
)
def wl_create_default(ctx):
    # Without --python, uv takes the first `python`/`python3` on PATH (here the
    # pyenv shim `python`, which runs the same pyenv version as `python3`).
    # The warm-up check below makes sure both venvs got the same interpreter.
    uv_flags = ctx.uv_venv_flags()
    return [
        Tool("envtool create", lambda d: [ctx.envtool, "create", d]),
        Tool("uv venv", lambda d: [ctx.peer("uv"), "venv", d] + uv_flags),
    ], "uv venv"


def install_tools(ctx, reqs, mode):
    """`envtool create E --python PY REQS` against `uv venv E --python PY && uv
    pip install --python E/bin/python REQS` (one `sh -c`, so both uv steps are
    timed together).  Neither tool byte-compiles (both defaults).

    mode "warm":    online, the shared caches in bench/.cache, primed by one
                    untimed run of each tool before the warm-up.
    mode "offline": the same caches, primed online; then both run --offline.
    mode "cold":    online, an empty cache directory for each run and tool
                    (next to the venv, removed with it)."""
    py, uv = ctx.python, ctx.peer("uv")

    def cache_args(d, name):
        return ["--cache-dir", os.path.join(os.path.dirname(d) or ".", "cache-" + name)] if mode == "cold" else []

    def tools(offline):
        net = ["--offline"] if offline else []

        def envtool(d):
            return [ctx.envtool] + net + cache_args(d, "envtool") + ["create", d, "--python", py] + reqs

        def uv_sh(d):
            venv = [uv, "venv", d, "--python", py] + net + cache_args(d, "uv") + ctx.uv_flags("venv")
            pip = [uv, "pip", "install", "--python", os.path.join(d, "bin", "python")] + net + cache_args(d, "uv") + ctx.uv_flags("pip", "install") + reqs
            return ["/bin/sh", "-c", " ".join(map(shlex.quote, venv)) + " && " + " ".join(map(shlex.quote, pip))]

        # The children get UV_OFFLINE=1 (see child_env): lift it when online.
        uv_env = None if offline else {"UV_OFFLINE": None}
        return [Tool("envtool create", envtool), Tool("uv venv + pip install", uv_sh, uv_env)]

    timed = tools(offline=(mode == "offline"))
    if mode in ("warm", "offline"):
        timed = [t._replace(prime=p) for t, p in zip(timed, tools(offline=False))]
    return timed, "uv venv + pip install"


for _mode, _help in (
    ("warm", "warm caches, online (pages revalidated)"),
    ("offline", "warm caches, --offline"),
    ("cold", "empty caches every run, online"),
):
    workload(
        "install-pinned-" + _mode,
        "create a venv with the 16 pinned packages of bench/workloads/httpie-requirements.txt: " + _help,
        peers=("uv",), cold=(_mode == "cold"), expect=("httpie",), group="install-pinned",
    )(lambda ctx, _mode=_mode: install_tools(ctx, ["-r", PINNED_REQUIREMENTS], _mode))

for _mode, _help in (("warm", "warm caches, online (pages revalidated)"), ("cold", "empty caches every run, online")):
    workload(
        "resolve-jupyter-" + _mode,
        "create a venv with `jupyter`, resolved from scratch: " + _help,
        peers=("uv",), cold=(_mode == "cold"), expect=("jupyter",), group="resolve-jupyter",
    )(lambda ctx, _mode=_mode: install_tools(ctx, ["jupyter"], _mode))


# --------------------------------------------------------------------------
# Context: paths and facts the workloads need
# --------------------------------------------------------------------------


class Context:
    def __init__(self, envtool, python, env):
        self.envtool = envtool
        self.python = python
        self.env = env
        self._uv_flags = {}

    def peer(self, name):
        return os.path.join(PEERS_DIR, "bin", name)

    def uv_flags(self, *subcommand):
        """--no-project --no-config, for whichever of them `uv SUBCOMMAND` accepts."""
        if subcommand not in self._uv_flags:
            out = run_capture([self.peer("uv")] + list(subcommand) + ["--help"], env=self.env)
            self._uv_flags[subcommand] = [f for f in ("--no-project", "--no-config") if re.search(r"(^|\s)" + re.escape(f) + r"\b", out)]
        return list(self._uv_flags[subcommand])

    def uv_venv_flags(self):
        return self.uv_flags("venv")


def run_capture(argv, env=None, check=True):
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, universal_newlines=True)
    except OSError as e:
        if check:
            die("cannot run {}: {}".format(argv[0], e))
        return "(cannot run: {})".format(e)
    if check and p.returncode != 0:
        die("`{}` failed (exit {}):\n{}".format(" ".join(argv), p.returncode, p.stdout))
    return p.stdout


def is_elf(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) == b"\x7fELF"
    except OSError:
        return False


# --------------------------------------------------------------------------
# Setup: interpreter, envtool binary, peers venv, child environment
# --------------------------------------------------------------------------


def default_python():
    """Newest ~/.pyenv/versions/3.1X.Y/bin/python3.X that is a real binary."""
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = []
    for d in glob.glob(os.path.join(root, "versions", "3.1[0-9].*")):
        m = re.match(r"3\.(1\d)\.(\d+)$", os.path.basename(d))  # skips 3.13.0t, 3.14-dev, ...
        if not m:
            continue
        exe = os.path.join(d, "bin", "python3." + m.group(1))
        if is_elf(exe) and os.access(exe, os.X_OK):
            found.append(((int(m.group(1)), int(m.group(2))), exe))
    if not found:
        die("no interpreter found at {}/versions/3.1X.Y/bin/python3.X".format(root), "pass --python /path/to/real/python3.X")
    return max(found)[1]


def check_envtool(path):
    if not (os.path.isfile(path) and os.access(path, os.X_OK)):
        die("envtool binary not found at {}".format(path), "cargo build --release (or pass --envtool PATH)")
    return path


def undo_pyenv_exec(env):
    """`python3 bench/bench.py` runs through the pyenv shim, whose `pyenv exec`
    puts versions/X/bin, libexec and plugin bin dirs in front of PATH and exports
    PYENV_VERSION & co.  Children inheriting that would find the real binary
    before the shim (and a shim pinned by PYENV_VERSION), which is not what a
    user's shell has.  Undo it.  Returns a note for the header, or None."""
    prefix = env.get("_PYENV_INSTALL_PREFIX")
    if not prefix:
        return None
    roots = {os.path.normpath(prefix), os.path.normpath(env.get("PYENV_ROOT", prefix))}
    added = re.compile(r"^(?:{})/(?:versions/[^/]+/bin|libexec|plugins/[^/]+/bin)/?$".format("|".join(re.escape(r) for r in roots)))
    entries = env.get("PATH", "").split(os.pathsep)
    i = 0
    while i < len(entries) and added.match(entries[i]):
        i += 1
    env["PATH"] = os.pathsep.join(entries[i:])
    dropped = [k for k in list(env) if k in ("PYENV_VERSION", "PYENV_DIR", "PYENV_HOOK_PATH", "_PYENV_INSTALL_PREFIX") or k.startswith("_PYENV_SHIM_PATHS_")]
    for k in dropped:
        del env[k]
    return "started through `pyenv exec` (a shim): removed {} PATH entries it prepended and {} for the children".format(i, ", ".join(sorted(dropped)))


def child_env():
    env = {k: v for k, v in os.environ.items() if k not in DROP_ENV_EXACT and not k.startswith(DROP_ENV_PREFIXES)}
    note = undo_pyenv_exec(env)
    caches = {
        "UV_CACHE_DIR": os.path.join(CACHE_DIR, "uv"),
        "ENVTOOL_CACHE_DIR": os.path.join(CACHE_DIR, "envtool"),
        "VIRTUALENV_OVERRIDE_APP_DATA": os.path.join(CACHE_DIR, "virtualenv"),
        # Empty on purpose: uv sees no uv-managed Pythons, whatever ~/.local has.
        "UV_PYTHON_INSTALL_DIR": os.path.join(CACHE_DIR, "uv-python"),
    }
    for d in caches.values():
        os.makedirs(d, exist_ok=True)
    env.update(caches)
    # Belt and braces: nothing measured may touch the network.
    env["UV_PYTHON_DOWNLOADS"] = "never"
    env["UV_OFFLINE"] = "1"
    return env, note


def installed_peers():
    """Normalised names of the distributions installed in the peers venv, or None if it is unusable."""
    py = os.path.join(PEERS_DIR, "bin", "python")
    code = "import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata['Name'])"
    try:
        p = subprocess.run([py, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
    except OSError:
        return None
    if p.returncode != 0:
        return None
    return {re.sub(r"[-_.]+", "-", n).lower() for n in p.stdout.split()}


def ensure_peers(names):
    """Create bench/.peers (once) and pip-install the missing peer packages: the only network use."""
    if not names:
        return
    have = installed_peers() if os.path.isdir(PEERS_DIR) else None
    if have is None:
        if os.path.isdir(PEERS_DIR):
            warn("{} is unusable; recreating it".format(PEERS_DIR))
            shutil.rmtree(PEERS_DIR)
        print("creating peers venv {} with {}".format(PEERS_DIR, sys.executable), file=sys.stderr)
        p = subprocess.run([sys.executable, "-m", "venv", PEERS_DIR])
        if p.returncode != 0:
            die("could not create the peers venv with {}".format(sys.executable), "run bench.py with a Python that has ensurepip")
        have = installed_peers() or set()
    missing = [PEER_REQUIREMENTS[n] for n in names if n not in have]
    if missing:
        print("installing peers into {}: {}".format(PEERS_DIR, " ".join(missing)), file=sys.stderr)
        argv = [os.path.join(PEERS_DIR, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + missing
        if subprocess.run(argv).returncode != 0:
            die("pip install of the peers failed: " + " ".join(missing))


# --------------------------------------------------------------------------
# Measurement
# --------------------------------------------------------------------------

RSS_DIVISOR = 1024.0 * 1024.0 if sys.platform == "darwin" else 1024.0  # ru_maxrss: bytes on macOS, KiB on Linux


def exit_code(status):
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return status


def read_pyvenv_cfg(target):
    cfg = {}
    try:
        with open(os.path.join(target, "pyvenv.cfg")) as f:
            for line in f:
                k, sep, v = line.partition("=")
                if sep:
                    cfg[k.strip()] = v.strip()
    except OSError:
        return None
    return cfg


def venv_interpreter(cfg):
    """(home, X.Y.Z) from a pyvenv.cfg, whichever tool wrote it."""
    version = cfg.get("version_info") or cfg.get("version") or "?"
    return cfg.get("home", "?"), ".".join(version.split(".")[:3])


def site_packages(target):
    found = glob.glob(os.path.join(target, "lib", "python*", "site-packages"))
    return found[0] if found else None


def installed_dists(target):
    """{normalised name: version} of the distributions installed in the venv at target."""
    sp = site_packages(target)
    if not sp:
        return {}
    dists = {}
    for d in os.listdir(sp):
        if d.endswith(".dist-info"):
            name, _, version = d[: -len(".dist-info")].rpartition("-")
            dists[re.sub(r"[-_.]+", "-", name).lower()] = version
    return dists


def count_pyc(target):
    return sum(1 for _, _, files in os.walk(target) for f in files if f.endswith(".pyc"))


def find_gnu_time():
    """/usr/bin/time if it is GNU time (it reports the child's own peak RSS), else None."""
    for path in ("/usr/bin/time",):
        if os.access(path, os.X_OK) and "GNU" in run_capture([path, "--version"], check=False):
            return path
    return None


def spawn_floor_mb(env):
    """ru_maxrss that os.wait4 reports for `true` (~1 MB really) spawned from this process.

    Linux records the pre-exec address space's high-water mark in the child's
    maxrss, and a (v)forked child's pre-exec address space is this Python
    process's.  So every wait4 figure is at least this floor."""
    proc = subprocess.Popen([shutil.which("true") or "/bin/true"], stdin=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = exit_code(status)
    return usage.ru_maxrss / RSS_DIVISOR


def run_once(tool, env, tmp_root, errfile, what, gnu_time=None, expect=(), inspect=False):
    """One run.  Returns (seconds, peak RSS in MiB, facts): facts is the
    pyvenv.cfg dict, plus, with inspect, "_dists" (the installed
    distributions as sorted "name==version") and "_pyc" (the number of .pyc
    files in the venv).

    With gnu_time, the command runs under GNU time (not timed: its extra
    fork/exec would skew the times) and the RSS is the one GNU time reports.
    Every name in expect must be installed in the venv afterwards."""
    base = tempfile.mkdtemp(prefix="envtool-bench-", dir=tmp_root)
    try:
        target = os.path.join(base, "venv")
        argv = [str(a) for a in tool.argv(target)]
        rss_file = os.path.join(base, "rss")
        run_argv = [gnu_time, "-f", "%M", "-o", rss_file, "--"] + argv if gnu_time else argv
        run_env = dict(env)
        for k, v in (tool.env or {}).items():
            if v is None:
                run_env.pop(k, None)
            else:
                run_env[k] = v
        errfile.seek(0)
        errfile.truncate()
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            proc = subprocess.Popen(run_argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errfile, env=run_env, cwd=base)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - t0
        finally:
            gc.enable()
        proc.returncode = code = exit_code(status)  # reaped by wait4: tell Popen
        if code != 0:
            errfile.seek(0)
            err = errfile.read().decode("utf-8", "replace")
            how = "was killed by signal {}".format(-code) if code < 0 else "failed with exit status {}".format(code)
            die("{}: `{}` {}\n  command: {}\n--- stderr ---\n{}--- end of stderr ---".format(what, tool.label, how, " ".join(argv), err))
        cfg = read_pyvenv_cfg(target)
        if cfg is None:
            die("{}: `{}` exited 0 but {} has no pyvenv.cfg\n  command: {}".format(what, tool.label, target, " ".join(argv)))
        if expect or inspect:
            dists = installed_dists(target)
            missing = [n for n in expect if n not in dists]
            if missing:
                die("{}: `{}` exited 0 but did not install {}\n  command: {}".format(what, tool.label, ", ".join(missing), " ".join(argv)))
            if inspect:
                cfg["_dists"] = sorted("{}=={}".format(k, v) for k, v in dists.items())
                cfg["_pyc"] = count_pyc(target)
        rss = usage.ru_maxrss / RSS_DIVISOR
        if gnu_time:
            with open(rss_file) as f:
                rss = int(f.read().split()[-1]) / 1024.0
        return elapsed, rss, cfg
    finally:
        shutil.rmtree(base, ignore_errors=True)


def run_workload(wl, ctx, rounds, warmup, tmp_root, rss_runs, gnu_time):
    """rounds, warmup, rss_runs: the ones for this workload (see plan())."""
    tools, baseline = wl.fn(ctx)
    labels = [t.label for t in tools]
    if baseline not in labels:
        die("workload {}: baseline {!r} is not one of its tools {}".format(wl.name, baseline, labels))
    times = {t.label: [] for t in tools}
    rss = {t.label: [] for t in tools}
    rss_gnu = {t.label: [] for t in tools}
    interp = {}
    n = len(tools)
    floor = spawn_floor_mb(ctx.env)
    contents = {}
    with tempfile.TemporaryFile(dir=tmp_root) as errfile:
        for tool in tools:
            if tool.prime:
                run_once(tool.prime, ctx.env, tmp_root, errfile, wl.name + " priming run", expect=wl.expect)
        for r in range(warmup + rounds):
            counted = r >= warmup
            what = "{} {} {}".format(wl.name, "round" if counted else "warm-up", (r - warmup if counted else r) + 1)
            for i in range(n):
                tool = tools[(r + i) % n]  # rotate the starting tool each round
                first = tool.label not in interp
                t, m, cfg = run_once(tool, ctx.env, tmp_root, errfile, what, expect=wl.expect, inspect=first and bool(wl.expect))
                if counted:
                    times[tool.label].append(t)
                    rss[tool.label].append(m)
                if first:  # the first run, a warm-up one unless --warmup 0 (or a cold workload)
                    interp[tool.label] = venv_interpreter(cfg)
                    if "_dists" in cfg:
                        contents[tool.label] = (cfg["_dists"], cfg["_pyc"])
        if gnu_time:
            for r in range(rss_runs):
                for i in range(n):
                    tool = tools[(r + i) % n]
                    _, m, _ = run_once(tool, ctx.env, tmp_root, errfile, "{} RSS run {}".format(wl.name, r + 1), gnu_time, expect=wl.expect)
                    rss_gnu[tool.label].append(m)
    base_med = statistics.median(times[baseline])
    res = collections.OrderedDict()
    for t in tools:
        med = statistics.median(times[t.label])
        res[t.label] = collections.OrderedDict(
            [
                ("argv", [str(a) for a in t.argv("DIR")]),
                ("primed", t.prime is not None),
                ("median_s", med),
                ("min_s", min(times[t.label])),
                ("max_s", max(times[t.label])),
                ("ratio", med / base_med),
                ("rss_median_mb", statistics.median(rss[t.label])),
                ("rss_at_floor", statistics.median(rss[t.label]) <= floor * 1.05),
                ("rss_gnu_time_median_mb", statistics.median(rss_gnu[t.label]) if rss_gnu[t.label] else None),
                ("venv_home", interp.get(t.label, ("?", "?"))[0]),
                ("venv_version", interp.get(t.label, ("?", "?"))[1]),
                ("venv_distributions", contents.get(t.label, (None, None))[0]),  # ["name==version", ...]
                ("venv_pyc_files", contents.get(t.label, (None, None))[1]),
                ("times_s", times[t.label]),
                ("rss_mb", rss[t.label]),
                ("rss_gnu_time_mb", rss_gnu[t.label]),
            ]
        )
    return baseline, res, floor


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def fmt_ms(s):
    return "{:.1f} ms".format(s * 1000) if s < 10 else "{:.2f} s".format(s)


def print_table(wl, baseline, res, rounds, warmup, floor, rss_runs):
    print()
    print("== {} == {}".format(wl.name, wl.help))
    primed = " (after one untimed priming run of each tool)" if any(r["primed"] for r in res.values()) else ""
    print("   {} rounds + {} warm-up{}, interleaved, rotating start; baseline: {}".format(rounds, warmup, primed, baseline))
    gnu = any(r["rss_gnu_time_median_mb"] is not None for r in res.values())
    head = ["tool", "median", "min", "/ " + baseline, "RSS wait4"]
    if gnu:
        head.append("RSS GNU time")
    rows = []
    for label, r in res.items():
        wait4 = "{}{:.1f} MB".format("<=" if r["rss_at_floor"] else "", r["rss_median_mb"])
        row = [label, fmt_ms(r["median_s"]), fmt_ms(r["min_s"]), "{:.2f}x".format(r["ratio"]), wait4]
        if gnu:
            g = r["rss_gnu_time_median_mb"]
            row.append("-" if g is None else "{:.1f} MB".format(g))
        rows.append(row)
    widths = [max(len(row[i]) for row in [head] + rows) for i in range(len(head))]
    for row in [head] + rows:
        print("   " + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    print("   (RSS wait4: median of the timed runs, floored at {:.1f} MB, this process's own peak; \"<=\" = at the floor.{})".format(
        floor, " RSS GNU time: median of {} untimed runs under /usr/bin/time.".format(rss_runs) if gnu else ""))
    w = widths[0]
    homes = {(r["venv_home"], r["venv_version"]) for r in res.values()}
    for label, r in res.items():
        extra = ""
        if r["venv_distributions"] is not None:
            extra = ", {} distributions, {} .pyc files".format(len(r["venv_distributions"]), r["venv_pyc_files"])
        print("   venv of {:<{w}}  home = {}  (Python {}{})".format(label, r["venv_home"], r["venv_version"], extra, w=w))
    if len(homes) > 1:
        warn("{}: the tools did not all create their venv from the same interpreter (see the venv lines above)".format(wl.name))
    installed = [set(r["venv_distributions"]) for r in res.values() if r["venv_distributions"] is not None]
    if installed and any(s != installed[0] for s in installed):
        everywhere = set.intersection(*installed)
        for label, r in res.items():
            if r["venv_distributions"] is not None:
                only = sorted(set(r["venv_distributions"]) - everywhere)
                if only:
                    print("   only {} installed: {}".format(label, " ".join(only)))
        warn("{}: the tools did not install the same distributions (see the `only` lines above)".format(wl.name))
    if wl.target:
        label, goal = wl.target
        if label in res:
            got = res[label]["ratio"]
            print("   target: {} <= {:.2f}x {}: {} ({:.2f}x)".format(label, goal, baseline, "MET" if got <= goal else "NOT MET", got))


def tool_version(argv, env):
    out = run_capture(argv, env=env, check=False).strip().splitlines()
    line = out[0] if out else "(no output)"
    return re.sub(r" from /.*$", "", line)  # virtualenv appends its install path


def main():
    ap = argparse.ArgumentParser(description="Benchmark envtool against uv, virtualenv and python -m venv.")
    ap.add_argument("workloads", nargs="*", metavar="WORKLOAD", help="workloads to run (default: all; see --list)")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    ap.add_argument("--envtool", default=os.path.join(REPO_ROOT, "target", "release", "envtool"), help="envtool binary (default: target/release/envtool in the repo)")
    ap.add_argument("--python", help="real interpreter to name to every tool (default: newest ~/.pyenv/versions/3.1X.Y/bin/python3.X)")
    ap.add_argument("--rounds", type=int, default=15, help="counted rounds per workload (default 15)")
    ap.add_argument("--warmup", type=int, default=2, help="uncounted warm-up rounds (default 2)")
    ap.add_argument("--rss-runs", type=int, default=3, help="extra untimed runs per tool under GNU time (/usr/bin/time) for an exact peak RSS; 0: none (default 3; at most 1 for cold workloads)")
    ap.add_argument("--cold-rounds", type=int, default=5, help="counted rounds for the cold workloads (*-cold), which have no warm-up (default 5)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--tmpdir", help="where the per-run temporary directories go (default: the system temp dir)")
    args = ap.parse_args()

    if args.list:
        for wl in WORKLOADS.values():
            extra = "  [peers: {}]".format(", ".join(wl.peers)) if wl.peers else ""
            print("{:<22} {}{}".format(wl.name, wl.help, extra))
        for g, members in GROUPS.items():
            print("{:<22} group: {}".format(g, " ".join(members)))
        return 0
    names = []
    for n in args.workloads or list(WORKLOADS):
        for m in GROUPS.get(n, [n]):
            if m not in names:
                names.append(m)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        die("unknown workload(s): {}".format(", ".join(unknown)), "python3 bench/bench.py --list")
    if args.rounds < 1 or args.cold_rounds < 1 or args.warmup < 0 or args.rss_runs < 0:
        die("--rounds and --cold-rounds must be >= 1, --warmup and --rss-runs >= 0")
    selected = [WORKLOADS[n] for n in names]

    envtool = check_envtool(os.path.abspath(args.envtool))
    env, env_note = child_env()
    if args.python:
        python = shutil.which(args.python, path=env.get("PATH")) or args.python
        python = os.path.abspath(python)
        if not os.access(python, os.X_OK):
            die("--python {} is not an executable".format(args.python))
        if not is_elf(python):
            warn("--python {} is not an ELF binary (a shim or wrapper script?); its start-up cost will be measured too".format(python))
    else:
        python = default_python()
    tmp_root = os.path.abspath(args.tmpdir) if args.tmpdir else tempfile.gettempdir()
    if not os.path.isdir(tmp_root):
        die("--tmpdir {} is not a directory".format(tmp_root))

    peers = []
    for wl in selected:
        peers += [p for p in wl.peers if p not in peers]
    ensure_peers(peers)
    ctx = Context(envtool, python, env)

    meta = collections.OrderedDict()
    meta["date"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    meta["uname"] = "{} {}".format(platform.system(), platform.release())
    meta["cpus"] = os.cpu_count()
    meta["loadavg_start"] = list(os.getloadavg())
    meta["python"] = python
    meta["python_version"] = run_capture([python, "--version"], env=env).strip()
    meta["peers_python"] = os.path.realpath(os.path.join(PEERS_DIR, "bin", "python")) if peers else None
    meta["tmpdir"] = tmp_root
    gnu_time = find_gnu_time() if args.rss_runs else None
    meta["gnu_time"] = gnu_time
    versions = collections.OrderedDict()
    versions["envtool"] = tool_version([envtool, "--version"], env)
    for p in peers:
        cmd = PEER_VERSION_COMMANDS.get(p)
        if cmd:
            versions[p] = tool_version([ctx.peer(cmd[0])] + cmd[1:], env)
    meta["versions"] = versions
    path_py = shutil.which("python3", path=env.get("PATH"))
    meta["path_python3"] = path_py
    meta["env_note"] = env_note

    print("envtool bench  {}".format(meta["date"]))
    print("system:  {}, {} CPUs, load average {:.2f} {:.2f} {:.2f}".format(meta["uname"], meta["cpus"], *meta["loadavg_start"]))
    print("python:  {} ({})".format(python, meta["python_version"]))
    print("python3 on PATH: {}{}".format(path_py, " (pyenv shim)" if path_py and "/shims/" in path_py else ""))
    if env_note:
        print("note:    " + env_note)
    print("envtool: {} ({})".format(envtool, versions["envtool"]))
    for p in peers:
        if p in versions:
            print("{:<8} {} ({})".format(p + ":", ctx.peer(PEER_VERSION_COMMANDS[p][0]), versions[p]))
    if meta["loadavg_start"][0] > max(1.5, 0.9 * (os.cpu_count() or 2)):
        warn("load average {:.2f}: something else is running; timings will be noisy".format(meta["loadavg_start"][0]))
    sys.stdout.flush()

    results = collections.OrderedDict()
    for wl in selected:
        # Cold runs are slow and all alike (nothing to warm): fewer rounds, no warm-up.
        rounds, warmup, rss_runs = (args.cold_rounds, 0, min(args.rss_runs, 1)) if wl.cold else (args.rounds, args.warmup, args.rss_runs)
        baseline, res, floor = run_workload(wl, ctx, rounds, warmup, tmp_root, rss_runs, gnu_time)
        print_table(wl, baseline, res, rounds, warmup, floor, rss_runs)
        sys.stdout.flush()
        entry = collections.OrderedDict([("baseline", baseline), ("cold", wl.cold), ("rounds", rounds), ("warmup", warmup), ("rss_runs", rss_runs if gnu_time else 0), ("wait4_rss_floor_mb", floor)])
        if wl.target:
            entry["target"] = {"tool": wl.target[0], "max_ratio": wl.target[1], "met": res[wl.target[0]]["ratio"] <= wl.target[1]}
        entry["tools"] = res
        results[wl.name] = entry
    meta["loadavg_end"] = list(os.getloadavg())
    print()
    print("load average at the end: {:.2f} {:.2f} {:.2f}".format(*meta["loadavg_end"]))

    if args.json:
        with open(args.json, "w") as f:
            json.dump({"meta": meta, "workloads": results}, f, indent=2)
            f.write("\n")
        print("wrote " + args.json)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
