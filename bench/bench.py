#!/usr/bin/env python3
"""Benchmark harness: envtool against its peers (uv, virtualenv, python -m venv, ...).

Python 3.8+ standard library only.  See bench/README.md.

    python3 bench/bench.py                  # every workload
    python3 bench/bench.py create --rounds 30 --json out.json
    python3 bench/bench.py --list

Each workload names a list of tools and a baseline.  Every tool's command runs
--rounds times, interleaved (one run of each tool per round, the starting tool
rotating every round), after --warmup rounds that are not counted.  Each run
gets an empty directory DIR (made and removed outside the timed region; the
same path for every run of a tool, see Context.run_slot); the venv target is
DIR/venv inside it, which does not exist yet.  Some workloads run in several
variants (interpreters from --pythons, shared or fresh caches, entries); the
goals hold only if they hold for the worst variant.
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
HTTPIE_IN = os.path.join(BENCH_DIR, "workloads", "httpie.in")
JUPYTER_IN = os.path.join(BENCH_DIR, "workloads", "jupyter.in")
LOCAL_PROJECT = os.path.join(BENCH_DIR, "workloads", "localproj")

# Peer package name -> pip requirement.  Pin here (e.g. "uv==0.13.9") to freeze
# a comparison; the versions in use are always printed in the header.
PEER_REQUIREMENTS = {
    "uv": "uv",
    "virtualenv": "virtualenv",
    "pex": "pex",
    "shiv": "shiv",
    "pipx": "pipx",
}
# Peer package -> the console script whose `--version` goes in the header.
PEER_VERSION_COMMANDS = {
    "uv": ["uv", "--version"],
    "virtualenv": ["virtualenv", "--version"],
    "pex": ["pex", "--version"],
    "shiv": ["shiv", "--version"],
    "pipx": ["pipx", "--version"],
}
# Peers that must run on the benchmark interpreter (--python) itself, not on
# the one running this script: shiv runs `sys.executable -m pip install`, so
# its pip picks wheels for whatever Python shiv runs on.  They go in a second
# venv, bench/.peers/py-X.Y, made with --python.
PEERS_ON_TARGET_PYTHON = ("shiv",)

# Inherited variables dropped from the children's environment so that a
# developer's shell cannot change what is measured.
DROP_ENV_EXACT = ("PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONHOME", "PIP_CACHE_DIR", "PIP_NO_CACHE_DIR")
DROP_ENV_PREFIXES = ("UV_", "ENVTOOL_", "VIRTUALENV_", "PEX_", "SHIV_", "PIPX_")


def die(msg, hint=None):
    print("error: " + msg, file=sys.stderr)
    if hint:
        print("hint: " + hint, file=sys.stderr)
    sys.exit(1)


def warn(msg):
    print("warning: " + msg, file=sys.stderr)


def note(msg):
    print("note: " + msg, file=sys.stderr)


# --------------------------------------------------------------------------
# Workload registry
# --------------------------------------------------------------------------

# label: shown in the table; argv: function(target) -> list of str, where
# target is DIR/venv inside the run's fresh directory DIR (also the working
# directory); workloads that make no venv use os.path.dirname(target) as their
# scratch space.  env: environment variables for this tool only, as a dict or
# a function(target) -> dict (per-run directories); a value of None removes the
# variable.  prime: a Tool run once, untimed, before the warm-up rounds (to
# fill a cache), or None.  setup: function(target) run before every run,
# untimed (e.g. create the venv an install goes into).  check: function(target,
# stdout, first) run after every successful run, untimed; stdout is the run's
# standard output when capture is true (else None), first is true for the
# tool's first run; it raises CheckFailed to stop the benchmark, and returns a
# dict of facts about the result (or None): shown under the table for the first
# run ("size_bytes" in bytes, "_items" a list of strings compared across tools,
# other keys shown as they are).
Tool = collections.namedtuple("Tool", "label argv env prime setup check capture", defaults=(None, None, None, None, False))


class CheckFailed(Exception):
    pass


# Appended to the label of every tool run with --envtool-baseline's binary.
BASELINE_SUFFIX = " (baseline)"


def merge_env(*envs):
    """Tool envs (dicts, functions of target, or None) merged, later ones winning."""
    envs = [e for e in envs if e]
    if not any(callable(e) for e in envs):
        out = {}
        for e in envs:
            out.update(e)
        return out or None

    def env(target):
        out = {}
        for e in envs:
            out.update(e(target) if callable(e) else e)
        return out

    return env


# A goal printed under the table as MET / NOT MET.
#   ("ratio", label, max):   label's median / the baseline's median <= max
#   ("cpu", label, max):     label's median CPU time (user+sys, wait4) / the baseline's <= max
#   ("rss", label, max):     label's peak RSS (GNU time, else wait4) / the baseline's <= max
#   ("diff_ms", label, max): the median of label's per-round difference to the
#                            baseline (same round, so drift cancels) <= max ms
#   ("size", label, other):  facts size_bytes of label <= those of other
#   ("wall_s", label, max):  label's median wall time <= max seconds (an absolute bound)
Goal = collections.namedtuple("Goal", "kind label limit")

# fn(ctx) -> (list of Tool, baseline label).  peers: PEER_REQUIREMENTS keys
# installed into bench/.peers before the workload runs.  target: optional goal,
# a (label, max ratio) pair or a list of Goal.  cold: runs --cold-rounds
# rounds, no warm-up, at most one GNU time run.  expect: distribution names
# that must be installed in the venv after every run.  venv: every run must
# leave a venv (pyvenv.cfg) at DIR/venv, whose interpreter is shown.
# rounds, warmup: this workload's defaults when --rounds / --warmup are not given.
# variants: function(ctx) -> list of Variant; each variant is measured on its
# own (priming, warm-up, interleaved rounds) and the goals hold only if they
# hold for the worst one.  None: one variant, the --python interpreter.
Workload = collections.namedtuple("Workload", "name help peers fn goals cold expect venv rounds warmup variants")

# One measurement of a workload.  key: shown and used in --json ("3.11.7
# shared"); python: the interpreter the tools are given (ctx.python while it
# runs); cache: "shared" (bench/.cache), "fresh" (a cache made for this
# variant, filled by the priming runs, removed afterwards), "per-run" (the
# cold workloads' own empty cache every run) or None; extra: anything else a
# workload varies (ctx.variant.extra).
Variant = collections.namedtuple("Variant", "key python cache extra", defaults=(None, None))
CACHE_MODES = ("shared", "fresh")


def default_variant(ctx):
    return [Variant(None, ctx.default_python, "shared")]


def python_variants(ctx, caches=(None,), extras=(None,)):
    """One variant per --pythons interpreter, cache mode and extra (in that nesting)."""
    out = []
    for py in ctx.pythons:
        for cache in caches:
            for extra in extras:
                key = " ".join(x for x in (ctx.python_version(py), cache, extra if isinstance(extra, str) else (extra or {}).get("key")) if x)
                out.append(Variant(key, py, cache, extra))
    return out


# How --list describes a variants function.
VARIANT_NOTES = {}


def install_variants(ctx):
    return python_variants(ctx, CACHE_MODES)


def cold_variants(ctx):
    return python_variants(ctx, ("per-run",))


VARIANT_NOTES.update({install_variants: "each --pythons interpreter x shared, fresh cache", cold_variants: "each --pythons interpreter"})

WORKLOADS = collections.OrderedDict()
# Group name -> workload names, accepted on the command line.
GROUPS = collections.OrderedDict()

DEFAULT_ROUNDS = 15
DEFAULT_WARMUP = 2


def workload(name, help, peers=(), target=None, cold=False, expect=(), group=None, venv=True, rounds=None, warmup=None, variants=None):
    if target is None:
        goals = ()
    elif isinstance(target, tuple) and not isinstance(target, Goal):
        goals = (Goal("ratio", target[0], target[1]),)
    else:
        goals = tuple(target)

    def register(fn):
        WORKLOADS[name] = Workload(name, help, tuple(peers), fn, goals, cold, tuple(expect), venv, rounds, warmup, variants or default_variant)
        if group:
            GROUPS.setdefault(group, []).append(name)
        return fn

    return register


@workload(
    "create",
    "create an empty venv, every tool given the same explicit real interpreter",
    peers=("uv", "virtualenv"),
    target=("envtool create", 0.3),
)
def wl_create(ctx):
    py = ctx.python
    uv_flags = ctx.uv_venv_flags()
    return [
        Tool("envtool create" + sfx, lambda d, exe=exe: [exe, "create", d, "--python", py], env) for sfx, exe, env in ctx.envtools()
    ] + [
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
    return [Tool("envtool create" + sfx, lambda d, exe=exe: [exe, "create", d], env) for sfx, exe, env in ctx.envtools()] + [
        Tool("uv venv", lambda d: [ctx.peer("uv"), "venv", d] + uv_flags),
    ], "uv venv"


def install_tools(ctx, reqs, mode):
    """`envtool create E --python PY REQS` against `uv venv E --python PY && uv
    pip install --python E/bin/python REQS` (one `sh -c`, so both uv steps are
    timed together).  Neither tool byte-compiles (both defaults).

    mode "warm":    online, the variant's caches (ctx.cache_root: bench/.cache
                    or one made for the variant), primed by one untimed run
                    of each tool before the warm-up.
    mode "offline": the same caches, primed online; then both run --offline.
    mode "cold":    online, an empty cache directory for each run and tool
                    (next to the venv, removed with it)."""
    py, uv = ctx.python, ctx.peer("uv")
    root = ctx.cache_root

    def cache_args(d, name):
        return ["--cache-dir", os.path.join(os.path.dirname(d) or ".", "cache-" + name)] if mode == "cold" else []

    def tools(offline):
        net = ["--offline"] if offline else []

        def envtool(exe, name):
            return lambda d: [exe] + net + cache_args(d, name) + ["create", d, "--python", py] + reqs

        def uv_sh(d):
            venv = [uv, "venv", d, "--python", py] + net + cache_args(d, "uv") + ctx.uv_flags("venv")
            pip = [uv, "pip", "install", "--python", os.path.join(d, "bin", "python")] + net + cache_args(d, "uv") + ctx.uv_flags("pip", "install") + reqs
            return ["/bin/sh", "-c", " ".join(map(shlex.quote, venv)) + " && " + " ".join(map(shlex.quote, pip))]

        # The children get UV_OFFLINE=1 (see child_env): lift it when online.
        uv_env = {"UV_CACHE_DIR": os.path.join(root, "uv")}
        if not offline:
            uv_env["UV_OFFLINE"] = None
        # Each envtool binary has its own cache (ctx.envtools).
        return [Tool("envtool create" + sfx, envtool(exe, "envtool" + ("-baseline" if sfx else "")), env) for sfx, exe, env in ctx.envtools()] + [
            Tool("uv venv + pip install", uv_sh, uv_env)]

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
        variants=cold_variants if _mode == "cold" else install_variants,
        target={
            "offline": [Goal("ratio", "envtool create", 0.75), Goal("cpu", "envtool create", 1.0), Goal("rss", "envtool create", 1.0)],
            "warm": [Goal("ratio", "envtool create", 0.5)],
        }.get(_mode),
    )(lambda ctx, _mode=_mode: install_tools(ctx, ["-r", PINNED_REQUIREMENTS], _mode))

for _mode, _help in (("warm", "warm caches, online (pages revalidated)"), ("cold", "empty caches every run, online")):
    workload(
        "resolve-jupyter-" + _mode,
        "create a venv with `jupyter`, resolved from scratch: " + _help,
        peers=("uv",), cold=(_mode == "cold"), expect=("jupyter",), group="resolve-jupyter",
        variants=cold_variants if _mode == "cold" else install_variants,
    )(lambda ctx, _mode=_mode: install_tools(ctx, ["jupyter"], _mode))


# --------------------------------------------------------------------------
# Workloads that create no venv of their own: freeze, lock, tools, packs, builds
# --------------------------------------------------------------------------

ONLINE_UV = {"UV_OFFLINE": None}  # lifts the UV_OFFLINE=1 that child_env sets
QUIET_PIP = {"PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # pip must not check for a newer pip while timed
PIN_RE = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", re.M)


def rundir(target, *parts):
    """A path inside the run's own fresh directory (target is DIR/venv)."""
    return os.path.join(os.path.dirname(target), *parts)


def pins(text):
    """Sorted "name==version" (names normalised) of the pins in a freeze or lock output."""
    return sorted({"{}=={}".format(re.sub(r"[-_.]+", "-", m.group(1)).lower(), m.group(2)) for m in PIN_RE.finditer(text)})


def primed(tools):
    """Each tool primed by one untimed run of itself."""
    return [t._replace(prime=t) for t in tools]


def tree_size(path):
    files = total = 0
    for root, _, names in os.walk(path):
        for n in names:
            p = os.path.join(root, n)
            if not os.path.islink(p):
                files += 1
                total += os.path.getsize(p)
    return files, total


def version_output(expected_prefix=None):
    """check: the run printed a version (and, on the first run, show it)."""

    def check(target, out, first):
        line = (out or "").strip()
        if not re.match(r"^\d+(\.\d+)+", line) or (expected_prefix and not line.startswith(expected_prefix)):
            raise CheckFailed("printed {!r}, not a version".format(line[:200]))
        return {"printed": line} if first else None

    return check


def httpie_env(ctx, seed):
    """A venv holding the pinned httpie set, made once with envtool (untimed)."""

    def build(d):
        env_dir = os.path.join(d, "env")
        argv = [ctx.envtool, "create", env_dir, "--python", ctx.python] + (["--seed"] if seed else []) + ["-r", PINNED_REQUIREMENTS]
        ctx.setup_run(argv, "creating the httpie env")
        return env_dir

    return ctx.fixture("the httpie env ({}, {})".format("envtool create --seed" if seed else "envtool create, no --seed", ctx.python), build)


@workload(
    "freeze",
    "pin what an env holding the httpie set has installed (pip freeze format), output to a pipe",
    peers=("uv",), target=("envtool freeze", 1.0), venv=False,
)
def wl_freeze(ctx):
    env_dir = httpie_env(ctx, seed=True)
    py = os.path.join(env_dir, "bin", "python")

    def check(target, out, first):
        items = pins(out or "")
        if not any(i.startswith("httpie==") for i in items):
            raise CheckFailed("its output has no httpie==... line")
        return {"_items": items}

    uv_flags = ctx.uv_flags("pip", "freeze")
    return primed([
        Tool("envtool freeze" + sfx, lambda d, exe=exe: [exe, "freeze", env_dir], env, check=check, capture=True) for sfx, exe, env in ctx.envtools()
    ] + [
        Tool("uv pip freeze", lambda d: [ctx.peer("uv"), "pip", "freeze", "--python", py] + uv_flags, check=check, capture=True),
        Tool("pip freeze", lambda d: [py, "-m", "pip", "freeze"], env=QUIET_PIP, check=check, capture=True),
    ]), "uv pip freeze"


def lock_tools(ctx, req_in, name):
    """`envtool lock -r R -o OUT.txt` against `uv pip compile R -o OUT.txt`
    (and, since envtool's .txt carries hashes, uv's --generate-hashes too), online."""
    py, uv = ctx.python, ctx.peer("uv")
    flags = ctx.uv_flags("pip", "compile")

    def out(target):
        return rundir(target, "requirements.txt")

    def check(target, _stdout, first):
        try:
            with open(out(target)) as f:
                text = f.read()
        except OSError:
            raise CheckFailed("wrote no " + out(target))
        items = pins(text)
        if not any(i.startswith(name + "==") for i in items):
            raise CheckFailed("the lock pins no {}".format(name))
        return collections.OrderedDict([("_items", items), ("hashes", text.count("--hash="))])

    return primed([
        Tool("envtool lock" + sfx, lambda d, exe=exe: [exe, "lock", "-r", req_in, "-o", out(d), "--python", py], env, check=check) for sfx, exe, env in ctx.envtools()
    ] + [
        Tool("uv pip compile", lambda d: [uv, "pip", "compile", req_in, "-o", out(d), "--python", py] + flags, env=ONLINE_UV, check=check),
        Tool("uv pip compile --generate-hashes", lambda d: [uv, "pip", "compile", req_in, "-o", out(d), "--python", py, "--generate-hashes"] + flags, env=ONLINE_UV, check=check),
    ]), "uv pip compile"


workload(
    "lock", "resolve bench/workloads/httpie.in (`httpie`) and write requirements.txt: warm caches, online",
    peers=("uv",), target=("envtool lock", 1.0), venv=False,
)(lambda ctx: lock_tools(ctx, HTTPIE_IN, "httpie"))
workload(
    "lock-jupyter", "resolve bench/workloads/jupyter.in (`jupyter`, ~96 pins) and write requirements.txt: warm caches, online",
    peers=("uv",), target=[Goal("ratio", "envtool lock", 0.8), Goal("rss", "envtool lock", 1.0)], venv=False, rounds=10,
)(lambda ctx: lock_tools(ctx, JUPYTER_IN, "jupyter"))


def check_http_shim(target, _stdout, first):
    http = rundir(target, "bin", "http")
    if not os.access(http, os.X_OK):
        raise CheckFailed("made no executable " + http)
    if first:
        return {"bin/http --version": run_capture([http, "--version"]).strip()}
    return None


@workload(
    "tool-install",
    "install httpie as a tool (its own env, commands in a bin dir), new tool and bin dirs every run: warm caches, online",
    peers=("uv", "pipx"), target=("envtool tool install", 1.0), venv=False, rounds=10,
)
def wl_tool_install(ctx):
    py = ctx.python
    uv_flags = ctx.uv_flags("tool", "install")

    def envtool_dirs(d):
        return {"ENVTOOL_TOOL_DIR": rundir(d, "tools"), "ENVTOOL_BIN_DIR": rundir(d, "bin")}

    def uv_env(d):
        return dict(ONLINE_UV, UV_TOOL_DIR=rundir(d, "tools"), UV_TOOL_BIN_DIR=rundir(d, "bin"))

    def pipx_env(d):
        # PIPX_SHARED_LIBS (pipx's own pip) stays in bench/.cache, like a cache.
        # The uv backend runs uv, with its cache in bench/.cache, online.
        return dict(QUIET_PIP, PIPX_HOME=rundir(d, "pipx"), PIPX_BIN_DIR=rundir(d, "bin"), PIPX_MAN_DIR=rundir(d, "man"), **ONLINE_UV)

    # pipx picks its backend: uv when it can find uv (on PATH, or importable as
    # here, where uv sits in the same peers venv), else pip.  Both, named.

    return primed([
        Tool("envtool tool install" + sfx, lambda d, exe=exe: [exe, "tool", "install", "httpie", "--python", py], env=merge_env(env, envtool_dirs), check=check_http_shim)
        for sfx, exe, env in ctx.envtools()
    ] + [
        Tool("uv tool install", lambda d: [ctx.peer("uv"), "tool", "install", "httpie", "--python", py] + uv_flags, env=uv_env, check=check_http_shim),
        Tool("pipx install --backend pip", lambda d: [ctx.peer("pipx"), "install", "httpie", "--python", py, "--backend", "pip"], env=pipx_env, check=check_http_shim),
        Tool("pipx install --backend uv", lambda d: [ctx.peer("pipx"), "install", "httpie", "--python", py, "--backend", "uv"], env=pipx_env, check=check_http_shim),
    ]), "uv tool install"


def check_jupyter_lab(target, _stdout, first):
    lab = rundir(target, "bin", "jupyter-lab")
    if not os.access(lab, os.X_OK):
        raise CheckFailed("made no executable " + lab)
    return None


@workload(
    "tool-install-jupyterlab-cold",
    "install jupyterlab as a tool with an empty cache every run (everything downloaded), online",
    peers=("uv",), target=("envtool tool install", 1.0), venv=False, cold=True, variants=cold_variants,
)
def wl_tool_install_jupyterlab_cold(ctx):
    py, uv = ctx.python, ctx.peer("uv")
    uv_flags = ctx.uv_flags("tool", "install")

    def cache(d, name):
        return rundir(d, "cache-" + name)

    def envtool_env(d):
        return {"ENVTOOL_TOOL_DIR": rundir(d, "tools"), "ENVTOOL_BIN_DIR": rundir(d, "bin")}

    def uv_env(d):
        return dict(ONLINE_UV, UV_TOOL_DIR=rundir(d, "tools"), UV_TOOL_BIN_DIR=rundir(d, "bin"))

    return [
        Tool("envtool tool install" + sfx, lambda d, exe=exe, sfx=sfx: [exe, "--cache-dir", cache(d, "envtool" + sfx), "tool", "install", "jupyterlab", "--python", py],
             env=merge_env(env, envtool_env), check=check_jupyter_lab)
        for sfx, exe, env in ctx.envtools()
    ] + [
        Tool("uv tool install", lambda d: [uv, "tool", "install", "jupyterlab", "--python", py, "--cache-dir", cache(d, "uv")] + uv_flags, env=uv_env, check=check_jupyter_lab),
    ], "uv tool install"


@workload(
    "shim-overhead",
    "`http --version` through envtool's tool shim against the tool env's own console script",
    target=[Goal("diff_ms", "shim BIN/http", 2.0)], venv=False, rounds=30,
)
def wl_shim_overhead(ctx):
    check = version_output()
    tools = []
    for sfx, exe, env in ctx.envtools():
        def build(d, exe=exe, env=env):
            dirs = dict(env, ENVTOOL_TOOL_DIR=os.path.join(d, "tools"), ENVTOOL_BIN_DIR=os.path.join(d, "bin"))
            ctx.setup_run([exe, "tool", "install", "httpie", "--python", ctx.python], "{} tool install httpie".format(exe), env=dirs)
            return d

        d = ctx.fixture("{} tool install httpie ({})".format(exe, ctx.python), build)
        shim, script = os.path.join(d, "bin", "http"), os.path.join(d, "tools", "httpie", "bin", "http")
        tools += [
            Tool("shim BIN/http" + sfx, lambda _, shim=shim: [shim, "--version"], check=check, capture=True),
            Tool("script TOOLDIR/httpie/bin/http" + sfx, lambda _, script=script: [script, "--version"], check=check, capture=True),
        ]
    return primed(tools), "script TOOLDIR/httpie/bin/http"


# The ways to get one executable file out of the httpie set: envtool (and the
# --envtool-baseline binary), pex, shiv.  label, file name, the variable
# naming its runtime root, and for envtool the binary and its env (cache).
# All are given the real interpreter as their shebang: the default
# `/usr/bin/env python3.X` would go through the pyenv shim (or fail, when the
# pyenv version selected is another one); pack-warm-start-pyenv measures that.
PackKind = collections.namedtuple("PackKind", "label name root_var exe env")


def pack_kinds(ctx):
    kinds = [PackKind("envtool pack" + sfx, "http" + ("-baseline" if sfx else ""), "ENVTOOL_PACK_ROOT", exe, env) for sfx, exe, env in ctx.envtools()]
    return kinds + [PackKind("pex", "http.pex", "PEX_ROOT", None, None), PackKind("shiv", "http.pyz", "SHIV_ROOT", None, None)]


def pack_argv(ctx, kind, env_dir, out):
    py = ctx.python
    if kind.exe:
        return [kind.exe, "pack", "--env", env_dir, "--entry", "http", "-o", out, "--python-shebang", py]
    if kind.label == "pex":
        return [ctx.peer("pex"), "-r", PINNED_REQUIREMENTS, "-c", "http", "-o", out, "--python", py, "--python-shebang", py]
    return [ctx.peer("shiv"), "-c", "http", "-o", out, "-p", py, "-r", PINNED_REQUIREMENTS]


def pack_files(ctx):
    """The packs of the httpie set, built once (untimed), by label, and the env envtool packed ("env")."""

    def build(d):
        env_dir = httpie_env(ctx, seed=False)
        files = {"env": env_dir}
        for kind in pack_kinds(ctx):
            files[kind.label] = os.path.join(d, kind.name)
            ctx.setup_run(pack_argv(ctx, kind, env_dir, files[kind.label]), "building the {} file".format(kind.label), env=merge_env(QUIET_PIP, kind.env))
        return files

    return ctx.fixture("the {} files of the httpie set ({})".format(", ".join(k.label for k in pack_kinds(ctx)), ctx.python), build)


@workload(
    "pack-build",
    "build one executable file running `http`: envtool from the httpie env; pex and shiv from its requirements (warm caches, online)",
    peers=("pex", "shiv"), target=[Goal("ratio", "envtool pack", 0.2), Goal("size", "envtool pack", "pex")],
    venv=False, group="pack", rounds=5, warmup=1,
)
def wl_pack_build(ctx):
    env_dir = httpie_env(ctx, seed=False)

    def tool(kind):
        def check(target, _stdout, first):
            out = rundir(target, kind.name)
            if not os.path.isfile(out):
                raise CheckFailed("wrote no " + out)
            facts = collections.OrderedDict([("size_bytes", os.path.getsize(out))])
            if first:  # does it run?  (a fresh runtime root, untimed)
                env = dict(ctx.env, **{kind.root_var: rundir(target, "root")})
                facts["`OUT --version`"] = run_capture([out, "--version"], env=env).strip()
            return facts

        return Tool(kind.label, lambda d: pack_argv(ctx, kind, env_dir, rundir(d, kind.name)), env=merge_env(QUIET_PIP, kind.env), check=check)

    return primed([tool(kind) for kind in pack_kinds(ctx)]), "pex"


@workload(
    "pack-first-start",
    "first start of each pack (`OUT --version`) with an empty runtime root (ENVTOOL_PACK_ROOT / PEX_ROOT / SHIV_ROOT) every run",
    peers=("pex", "shiv"), target=("envtool pack", 1.0), venv=False, group="pack", rounds=10,
)
def wl_pack_first_start(ctx):
    files = pack_files(ctx)
    check = version_output()

    def tool(kind):
        def check_extracted(target, out, first):
            facts = check(target, out, first)
            if first:
                n, size = tree_size(rundir(target, "root"))
                facts["extracted"] = "{} files, {:.1f} MiB".format(n, size / 1048576.0)
            return facts

        return Tool(kind.label, lambda _: [files[kind.label], "--version"], env=lambda d: {kind.root_var: rundir(d, "root")}, check=check_extracted, capture=True)

    return [tool(kind) for kind in pack_kinds(ctx)], "shiv"


@workload(
    "pack-warm-start",
    "start of each pack (`OUT --version`) once extracted, against the packed env's own `bin/http --version`",
    peers=("pex", "shiv"), target=("envtool pack", 1.15), venv=False, group="pack",
)
def wl_pack_warm_start(ctx):
    files = pack_files(ctx)
    roots = ctx.fixture("the runtime roots of the warm packs ({})".format(ctx.python), lambda d: d)
    check = version_output()
    tools = [
        Tool(k.label, lambda _, k=k: [files[k.label], "--version"], env={k.root_var: os.path.join(roots, re.sub(r"\W+", "-", k.label))}, check=check, capture=True)
        for k in pack_kinds(ctx)
    ]
    tools.append(Tool("env bin/http", lambda _: [os.path.join(files["env"], "bin", "http"), "--version"], check=check, capture=True))
    return primed(tools), "env bin/http"


# What pack-warm-start-pyenv starts: httpie's `http --version` (~0.3 s of
# imports) and the tiny bench-localproj script (a few ms), where the shim's
# cost is most of the start.  The baseline envtool cannot pack stdlib entries
# such as json.tool, so the small entry is a local project's console script.
PYENV_ENTRIES = (
    {"key": "http", "entry": "http", "args": ["--version"], "printed": None},
    {"key": "bench-localproj", "entry": "bench-localproj", "args": [], "printed": "bench-localproj "},
)


def pyenv_pack_variants(ctx):
    return python_variants(ctx, extras=PYENV_ENTRIES)


VARIANT_NOTES[pyenv_pack_variants] = "each --pythons interpreter x entry http, bench-localproj"


def printed_check(prefix):
    """check: the run printed a line starting with prefix (shown on the first run)."""

    def check(target, out, first):
        line = (out or "").strip()
        if not line.startswith(prefix):
            raise CheckFailed("printed {!r}, not {!r}...".format(line[:200], prefix))
        return {"printed": line} if first else None

    return check


def pyenv_paths(ctx):
    """(PYENV_ROOT, the PATH entries of ctx.env that are neither pyenv's shims nor its versions)."""
    root = os.path.realpath(os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv"))
    rest = [e for e in ctx.env.get("PATH", "").split(os.pathsep)
            if e and not os.path.realpath(e).startswith((os.path.join(root, "shims"), os.path.join(root, "versions") + os.sep))]
    return root, rest


@workload(
    "pack-warm-start-pyenv",
    "warm start of an envtool pack with its default header (no --python-shebang), python3.X on PATH being the pyenv shim,"
    " against the packed env's own console script",
    target=("envtool pack, python3.X = pyenv shim", 1.05), venv=False, variants=pyenv_pack_variants, group="pack",
)
def wl_pack_warm_start_pyenv(ctx):
    py, entry = ctx.python, ctx.variant.extra
    xy, version = python_xy(py), ctx.python_version(py)
    root, rest = pyenv_paths(ctx)
    shims = os.path.join(root, "shims")
    if not os.access(os.path.join(shims, "python" + xy), os.X_OK):
        die("no pyenv shim {}/python{}".format(shims, xy), "pyenv rehash")
    # python3.X resolves to the pyenv shim, which runs the version PYENV_VERSION
    # names (as a .python-version file or `pyenv shell` would select it); or,
    # for comparison, to the real binary itself.
    shim_path = os.pathsep.join([shims] + rest)
    real_path = os.pathsep.join([os.path.dirname(py)] + rest)
    for what, path, want in (("pyenv shim", shim_path, os.path.join(shims, "python" + xy)), ("real binary", real_path, py)):
        found = shutil.which("python" + xy, path=path)
        if not found or os.path.realpath(found) != os.path.realpath(want):
            die("pack-warm-start-pyenv: on the PATH meant to give the {}, python{} is {}, not {}".format(what, xy, found, want))

    def build(d):
        # The httpie set and bench-localproj in one env (untimed, once per interpreter).
        env_dir = os.path.join(d, "env")
        ctx.setup_run([ctx.envtool, "-q", "create", env_dir, "--python", py, "-r", PINNED_REQUIREMENTS], "creating the env to pack")
        shutil.copytree(LOCAL_PROJECT, os.path.join(d, "localproj"), ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        ctx.setup_run([ctx.envtool, "-q", "install", "--env", env_dir, "./localproj"], "installing bench-localproj into the env to pack", cwd=d)
        packs = {}
        for sfx, exe, env in ctx.envtools():
            for e in PYENV_ENTRIES:
                out = os.path.join(d, e["entry"] + ("-baseline" if sfx else ""))
                # No --python-shebang: the default header, `/usr/bin/env python3.X`.
                ctx.setup_run([exe, "-q", "pack", "--env", env_dir, "--entry", e["entry"], "-o", out], "packing {} with {}".format(e["entry"], exe), env=env)
                with open(out, "rb") as f:
                    head = f.read(8192).decode("utf-8", "replace")
                # The default header: `/usr/bin/env python3.X` (older envtools), or the
                # interpreter it was built with, then python3.X found by name.
                if "/usr/bin/env python" + xy not in head and "\non python" + xy + " " not in head:
                    die("{} has no default header (neither `/usr/bin/env python{}` nor a search for python{}): it is not what pack-warm-start-pyenv measures".format(out, xy, xy))
                packs[(sfx, e["entry"])] = out
        return env_dir, packs

    env_dir, packs = ctx.fixture("an env of the httpie set and bench-localproj, and its packs with the default header ({})".format(py), build)
    roots = ctx.fixture("the runtime roots of the pyenv packs ({})".format(py), lambda d: d)
    check = printed_check(entry["printed"]) if entry["printed"] else version_output()
    args = entry["args"]
    tools = []
    for sfx, _, _ in ctx.envtools():
        pack = packs[(sfx, entry["entry"])]
        # One runtime root per pack, kept across runs (extracted by the priming run).
        pack_root = {"ENVTOOL_PACK_ROOT": os.path.join(roots, os.path.basename(pack))}
        tools += [
            Tool("envtool pack, python3.X = pyenv shim" + sfx, lambda _, pack=pack: [pack] + args,
                 env=dict(pack_root, PATH=shim_path, PYENV_VERSION=version), check=check, capture=True),
            Tool("envtool pack, python3.X = real binary" + sfx, lambda _, pack=pack: [pack] + args,
                 env=dict(pack_root, PATH=real_path), check=check, capture=True),
        ]
    script = os.path.join(env_dir, "bin", entry["entry"])
    tools.append(Tool("env's own script", lambda _: [script] + args, check=check, capture=True))
    return primed(tools), "env's own script"


# Standalone packs (--standalone: the pack carries its interpreter, so the host
# needs no Python) and packs for several Pythons (--python A --python B, a wheel
# set per interpreter).  envtool alone: a baseline binary may not have these flags.
def pack_variants(ctx):
    return python_variants(ctx)


VARIANT_NOTES[pack_variants] = "each --pythons interpreter"


def standalone_packs(ctx, py):
    """The httpie env made with py, and its standalone and plain packs (untimed, once per interpreter)."""
    env = merge_env(QUIET_PIP, ctx.envtools()[0][2])

    def build(d):
        out = {"env": os.path.join(d, "env"), "standalone": os.path.join(d, "http-standalone"), "plain": os.path.join(d, "http")}
        ctx.setup_run([ctx.envtool, "-q", "create", out["env"], "--python", py, "-r", PINNED_REQUIREMENTS], "creating the httpie env", env=env)
        ctx.setup_run([ctx.envtool, "-q", "pack", "--env", out["env"], "--entry", "http", "-o", out["standalone"], "--standalone"], "packing httpie --standalone", env=env)
        ctx.setup_run([ctx.envtool, "-q", "pack", "--env", out["env"], "--entry", "http", "-o", out["plain"]], "packing httpie", env=env)
        return out

    return ctx.fixture("the httpie env and its standalone and plain packs ({})".format(py), build)


def size_facts(path):
    def check(target, out, first):
        facts = version_output()(target, out, first)
        if first:
            facts = dict(facts or {}, size_bytes=os.path.getsize(path))
        return facts

    return check


@workload(
    "pack-standalone-first-start",
    "first start of the standalone httpie pack (`OUT --version`: sh and tar unpack its interpreter, then it extracts and runs)"
    " with an empty ENVTOOL_PACK_ROOT every run, against the plain pack's first start",
    target=[Goal("wall_s", "envtool pack --standalone", 1.5)], venv=False, group="pack", rounds=10, variants=pack_variants,
)
def wl_pack_standalone_first_start(ctx):
    files = standalone_packs(ctx, ctx.python)
    tools = [
        Tool("envtool pack --standalone", lambda _: [files["standalone"], "--version"], env=lambda d: {"ENVTOOL_PACK_ROOT": rundir(d, "root")},
             check=size_facts(files["standalone"]), capture=True),
        Tool("envtool pack", lambda _: [files["plain"], "--version"], env=lambda d: {"ENVTOOL_PACK_ROOT": rundir(d, "root")},
             check=size_facts(files["plain"]), capture=True),
    ]
    return tools, "envtool pack"


@workload(
    "pack-standalone-warm-start",
    "start of the standalone httpie pack (`OUT --version`) once extracted, against the packed env's own `bin/http --version`",
    target=("envtool pack --standalone", 1.05), venv=False, group="pack", variants=pack_variants,
)
def wl_pack_standalone_warm_start(ctx):
    files = standalone_packs(ctx, ctx.python)
    roots = ctx.fixture("the runtime roots of the standalone packs ({})".format(ctx.python), lambda d: d)
    check = version_output()
    tools = [
        Tool("envtool pack --standalone", lambda _: [files["standalone"], "--version"], env={"ENVTOOL_PACK_ROOT": os.path.join(roots, "standalone")}, check=check, capture=True),
        Tool("envtool pack", lambda _: [files["plain"], "--version"], env={"ENVTOOL_PACK_ROOT": os.path.join(roots, "plain")}, check=check, capture=True),
        Tool("env bin/http", lambda _: [os.path.join(files["env"], "bin", "http"), "--version"], check=check, capture=True),
    ]
    return primed(tools), "env bin/http"


@workload(
    "pack-multi-warm-start",
    "warm start (`OUT --version`) of an httpie pack for two Pythons (this --pythons interpreter first, then another)"
    " against the pack for this Python alone, both from the pinned requirements",
    target=("envtool pack, 2 Pythons", 1.05), venv=False, group="pack", variants=pack_variants,
)
def wl_pack_multi_warm_start(ctx):
    py = ctx.python
    others = [p for p in ctx.pythons if python_xy(p) != python_xy(py)]
    if not others:
        die("pack-multi-warm-start needs two --pythons interpreters of different versions", "pass e.g. --pythons 3.11,3.13")
    env = merge_env(QUIET_PIP, ctx.envtools()[0][2])

    def build(d):
        single, multi = os.path.join(d, "http-1"), os.path.join(d, "http-2")
        ctx.setup_run([ctx.envtool, "-q", "pack", "-r", PINNED_REQUIREMENTS, "--entry", "http", "-o", single, "--python", py], "packing httpie for {}".format(py), env=env)
        ctx.setup_run([ctx.envtool, "-q", "pack", "-r", PINNED_REQUIREMENTS, "--entry", "http", "-o", multi, "--python", py, "--python", others[0]],
                      "packing httpie for {} and {}".format(py, others[0]), env=env)
        return single, multi

    single, multi = ctx.fixture("the httpie packs for {} alone and with {}".format(py, others[0]), build)
    roots = ctx.fixture("the runtime roots of the multi-Python packs ({})".format(py), lambda d: d)
    tools = [
        Tool("envtool pack, 2 Pythons", lambda _: [multi, "--version"], env={"ENVTOOL_PACK_ROOT": os.path.join(roots, "multi")}, check=size_facts(multi), capture=True),
        Tool("envtool pack, 1 Python", lambda _: [single, "--version"], env={"ENVTOOL_PACK_ROOT": os.path.join(roots, "single")}, check=size_facts(single), capture=True),
    ]
    return primed(tools), "envtool pack, 1 Python"


@workload(
    "build-local",
    "install bench/workloads/localproj (setuptools, PEP 517 build) into a new env: warm caches, online",
    peers=("uv",), target=("envtool install", 1.0), expect=("bench-localproj",), rounds=10, warmup=1,
)
def wl_build_local(ctx):
    def setup(target):
        # Untimed: a fresh copy of the project (so no tool can reuse a wheel it
        # built from the same path in an earlier run) and a new env with pip.
        shutil.copytree(LOCAL_PROJECT, rundir(target, "localproj"), ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
        ctx.setup_run([ctx.envtool, "-q", "create", target, "--seed", "--python", ctx.python], "creating the env to install into")

    def check(target, _stdout, first):
        script = os.path.join(target, "bin", "bench-localproj")
        if not os.access(script, os.X_OK):
            raise CheckFailed("made no console script " + script)
        return {"bin/bench-localproj": run_capture([script]).strip()} if first else None

    def py(d):
        return os.path.join(d, "bin", "python")

    uv_flags = ctx.uv_flags("pip", "install")
    return primed([
        Tool("envtool install" + sfx, lambda d, exe=exe: [exe, "install", "--env", d, "./localproj"], env, setup=setup, check=check) for sfx, exe, env in ctx.envtools()
    ] + [
        Tool("uv pip install", lambda d: [ctx.peer("uv"), "pip", "install", "--python", py(d), "./localproj"] + uv_flags, env=ONLINE_UV, setup=setup, check=check),
        Tool("pip install", lambda d: [py(d), "-m", "pip", "install", "./localproj"], env=QUIET_PIP, setup=setup, check=check),
    ]), "uv pip install"


# --------------------------------------------------------------------------
# Context: paths and facts the workloads need
# --------------------------------------------------------------------------


class Context:
    def __init__(self, envtool, python, env, tmp_root, same_paths=True, pythons=(), envtool_baseline=None):
        self.envtool = envtool
        self.envtool_baseline = envtool_baseline  # --envtool-baseline, or None
        # The interpreter of the variant being measured (see run_all); the
        # single-interpreter workloads get default_python (--python).
        self.python = python
        self.default_python = python
        self.pythons = list(pythons) or [python]  # --pythons
        self.env = env
        self.tmp_root = tmp_root
        self.same_paths = same_paths
        self.variant = None
        self.cache_root = CACHE_DIR  # the variant's: bench/.cache, or one made for it
        self._uv_flags = {}
        self._fixtures = {}
        self._fixture_dirs = []
        self._slots_root = None
        self._versions = {}

    def run_slot(self, label):
        """The run directory DIR of a tool: one path per tool, the same for every
        run of it (priming, warm-up, timed and GNU time runs), emptied before and
        removed after each run; None with --paths new (a new mkdtemp each run).

        uv keys what it learns about an interpreter by the interpreter's path.
        A venv made at a new path every run makes uv start that venv's Python to
        ask it again (~30 ms, every run), which a user who re-creates .venv in
        the same place never pays.  See "Why the run directory keeps its path"
        in bench/README.md."""
        if not self.same_paths:
            return None
        if self._slots_root is None:
            self._slots_root = tempfile.mkdtemp(prefix="envtool-bench-runs-", dir=self.tmp_root)
        # One path per tool and interpreter, so that uv never sees the same venv
        # path point at another interpreter.
        name = "{}-py{}".format(label, python_xy(self.python))
        return os.path.join(self._slots_root, re.sub(r"[^A-Za-z0-9.]+", "-", name).strip("-") or "tool")

    def envtools(self):
        """(label suffix, binary, env) for envtool and, with --envtool-baseline,
        for the baseline binary.  Each keeps its own cache under the variant's
        cache root (envtool/, envtool-baseline/), so neither can fill or spoil
        the other's, whatever their cache formats."""
        out = [("", self.envtool, {"ENVTOOL_CACHE_DIR": os.path.join(self.cache_root, "envtool")})]
        if self.envtool_baseline:
            out.append((BASELINE_SUFFIX, self.envtool_baseline, {"ENVTOOL_CACHE_DIR": os.path.join(self.cache_root, "envtool-baseline")}))
        return out

    def python_version(self, python):
        """X.Y.Z of an interpreter (asked once)."""
        if python not in self._versions:
            self._versions[python] = run_capture([python, "-c", "import sys; print('%d.%d.%d' % sys.version_info[:3])"], env=self.env).strip()
        return self._versions[python]

    def peer(self, name):
        if name in PEERS_ON_TARGET_PYTHON:
            return os.path.join(target_peers_dir(self.python), "bin", name)
        return os.path.join(PEERS_DIR, "bin", name)

    def uv_flags(self, *subcommand):
        """--no-project --no-config, for whichever of them `uv SUBCOMMAND` accepts."""
        if subcommand not in self._uv_flags:
            out = run_capture([self.peer("uv")] + list(subcommand) + ["--help"], env=self.env)
            self._uv_flags[subcommand] = [f for f in ("--no-project", "--no-config") if re.search(r"(^|\s)" + re.escape(f) + r"\b", out)]
        return list(self._uv_flags[subcommand])

    def uv_venv_flags(self):
        return self.uv_flags("venv")

    def fixture(self, key, build):
        """What build(dir) returns, dir being a new directory under --tmpdir.
        Built once per benchmark run (untimed) and shared by the workloads that
        ask for the same key; removed at the end."""
        if key not in self._fixtures:
            d = tempfile.mkdtemp(prefix="envtool-bench-fixture-", dir=self.tmp_root)
            self._fixture_dirs.append(d)
            print("preparing {} (untimed)".format(key), file=sys.stderr)
            self._fixtures[key] = build(d)
        return self._fixtures[key]

    def cleanup(self):
        for d in self._fixture_dirs + ([self._slots_root] if self._slots_root else []):
            shutil.rmtree(d, ignore_errors=True)
        self._fixture_dirs = []
        self._fixtures = {}
        self._slots_root = None

    def setup_run(self, argv, what, env=None, cwd=None):
        """Run an untimed preparation step; stop the benchmark with its output if it fails."""
        run_env = dict(self.env)
        for k, v in (env or {}).items():
            if v is None:
                run_env.pop(k, None)
            else:
                run_env[k] = v
        argv = [str(a) for a in argv]
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=run_env, cwd=cwd, universal_newlines=True)
        if p.returncode != 0:
            die("{}: `{}` failed (exit {})\n--- output ---\n{}--- end of output ---".format(what, " ".join(argv), p.returncode, p.stdout))
        return p.stdout


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


def find_python(spec, env):
    """--pythons entry: X.Y (the newest ~/.pyenv/versions/X.Y.Z/bin/pythonX.Y,
    a real binary, never a shim) or a path."""
    spec = spec.strip()
    m = re.match(r"^(\d+)\.(\d+)$", spec)
    if not m:
        path = os.path.abspath(shutil.which(spec, path=env.get("PATH")) or spec)
        if not os.access(path, os.X_OK):
            die("--pythons {} is not an executable".format(spec))
        if not is_elf(path):
            warn("--pythons {} is not an ELF binary (a shim or wrapper script?); its start-up cost will be measured too".format(path))
        return path
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = []
    for d in glob.glob(os.path.join(root, "versions", spec + ".*")):
        p = re.match(r"^" + re.escape(spec) + r"\.(\d+)$", os.path.basename(d))  # skips 3.13.0t, 3.14-dev, ...
        exe = os.path.join(d, "bin", "python" + spec)
        if p and is_elf(exe) and os.access(exe, os.X_OK):
            found.append((int(p.group(1)), exe))
    if not found:
        die("no Python {} found at {}/versions/{}.Z/bin/python{}".format(spec, root, spec, spec), "install it with pyenv, or pass its path in --pythons")
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
        "PIP_CACHE_DIR": os.path.join(CACHE_DIR, "pip"),  # pip, and the pip that shiv and pipx run
        "PEX_ROOT": os.path.join(CACHE_DIR, "pex"),  # pex's cache (a pack's runtime root when run)
        # pipx's shared pip venv: kept, like a cache, while PIPX_HOME is new every run.
        "PIPX_SHARED_LIBS": os.path.join(CACHE_DIR, "pipx-shared"),
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


def installed_peers(venv_dir=PEERS_DIR):
    """Normalised names of the distributions installed in a peers venv, or None if it is unusable."""
    py = os.path.join(venv_dir, "bin", "python")
    code = "import importlib.metadata as m\nfor d in m.distributions(): print(d.metadata['Name'])"
    try:
        p = subprocess.run([py, "-c", code], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, universal_newlines=True)
    except OSError:
        return None
    if p.returncode != 0:
        return None
    return {re.sub(r"[-_.]+", "-", n).lower() for n in p.stdout.split()}


_PY_XY = {}


def python_xy(python):
    if python not in _PY_XY:
        _PY_XY[python] = run_capture([python, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]).strip()
    return _PY_XY[python]


def target_peers_dir(python):
    """The venv for PEERS_ON_TARGET_PYTHON: bench/.peers/py-X.Y, made with the benchmark interpreter."""
    return os.path.join(PEERS_DIR, "py-" + python_xy(python))


def ensure_venv(venv_dir, python):
    """Create venv_dir with `python -m venv` unless it is a working venv of that
    interpreter.  Returns the distributions installed in it."""
    have = None
    if os.path.isdir(venv_dir):
        cfg = read_pyvenv_cfg(venv_dir) or {}
        same = os.path.realpath(cfg.get("home", "")) == os.path.realpath(os.path.dirname(python)) or venv_dir == PEERS_DIR
        have = installed_peers(venv_dir) if same else None
        if have is None:
            warn("{} is unusable or made with another interpreter; recreating it".format(venv_dir))
            # The target-python venvs live inside PEERS_DIR: keep them when recreating it.
            keep = [e for e in os.listdir(venv_dir) if e.startswith("py-")] if venv_dir == PEERS_DIR else []
            for e in os.listdir(venv_dir):
                if e not in keep:
                    path = os.path.join(venv_dir, e)
                    if os.path.isdir(path) and not os.path.islink(path):
                        shutil.rmtree(path)
                    else:
                        os.remove(path)
    if have is None:
        print("creating peers venv {} with {}".format(venv_dir, python), file=sys.stderr)
        p = subprocess.run([python, "-m", "venv", venv_dir])
        if p.returncode != 0:
            die("could not create the peers venv {} with {}".format(venv_dir, python), "use a Python that has ensurepip")
        have = installed_peers(venv_dir) or set()
    return have


def ensure_peers(names, python):
    """Create bench/.peers (once; and bench/.peers/py-X.Y for the peers that
    must run on the benchmark interpreter) and pip-install the missing peer
    packages: the only network use apart from the online workloads."""
    for venv_dir, creator, wanted in (
        (PEERS_DIR, sys.executable, [n for n in names if n not in PEERS_ON_TARGET_PYTHON]),
        (target_peers_dir(python), python, [n for n in names if n in PEERS_ON_TARGET_PYTHON]),
    ):
        if not wanted:
            continue
        have = ensure_venv(venv_dir, creator)
        missing = [PEER_REQUIREMENTS[n] for n in wanted if n not in have]
        if missing:
            print("installing peers into {}: {}".format(venv_dir, " ".join(missing)), file=sys.stderr)
            argv = [os.path.join(venv_dir, "bin", "python"), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"] + missing
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


def io_pressure():
    """The share of the last 10 s in which some task waited for the disk (Linux PSI,
    /proc/pressure/io `some avg10`, in %), or None where the kernel does not tell."""
    try:
        with open("/proc/pressure/io") as f:
            for line in f:
                if line.startswith("some "):
                    return float(line.split("avg10=")[1].split()[0])
    except (OSError, IndexError, ValueError):
        pass
    return None


# When the last benchmark emptied its trash (the file's mtime).
TRASH_STAMP = os.path.join(BENCH_DIR, ".cache", "trash-emptied")

# ext4 without a journal skips an inode deleted less than 60 s ago when it allocates one (300 s
# more while the inode's table block is not yet written back: `sync` first); see
# "Why a run's directory is removed only at the end" in bench/README.md.
DELETED_INODE_MARGIN = 65.0


def wait_after_deletions():
    """Wait until the trash the previous benchmark emptied no longer slows file creation."""
    try:
        age = time.time() - os.stat(TRASH_STAMP).st_mtime
    except OSError:
        return
    if 0 <= age < DELETED_INODE_MARGIN:
        wait = DELETED_INODE_MARGIN - age
        note("the previous benchmark removed its trash {:.0f} s ago: waiting {:.0f} s (ext4 skips recently deleted inodes)".format(age, wait))
        os.sync()
        time.sleep(wait)


def settle_disk(limit=1.0, patience=45.0):
    """Wait (at most `patience` seconds) until the disk has been idle for a while: writeback
    of what the preparation wrote otherwise lands on the first timed rounds; and until the
    last benchmark's deletions no longer slow file creation. (It does not remove every such
    slowdown: see "Why a run's directory is removed only at the end" in bench/README.md.)"""
    wait_after_deletions()
    start = time.monotonic()
    while True:
        p = io_pressure()
        if p is None or p <= limit:
            return
        if time.monotonic() - start > patience:
            warn("the disk is still busy ({:.1f}% of the last 10 s waiting for it): timings will be noisy".format(p))
            return
        time.sleep(1.0)


class Trash:
    """Where run directories and fresh caches go when a run is over: moved aside (one rename)
    and removed when the benchmark ends, not between runs.

    Removing a tree of thousands of files is not free for the next command: on an ext4
    mounted with `discard` (as on the machines this was measured on) the kernel's work for a
    deletion lands on whatever creates files next, and a first start right after removing the
    previous round's 80 MB extraction took 1.1 to 3.3 s instead of 0.7 to 0.8 s (same pack,
    same machine; /usr/bin/time, sys time 1.1 to 3.7 s instead of 0.3 s). So the harness's own
    clean-up must not be timed as part of the next tool's run. Below MIN_FREE free bytes the
    trash is emptied at once (with a warning: the times then include that work again)."""

    MIN_FREE = 8 << 30

    def __init__(self):
        self.root = None
        self.count = 0
        self.warned = False

    def discard(self, path, tmp_root):
        if not os.path.lexists(path):
            return
        try:
            if shutil.disk_usage(tmp_root).free >= self.MIN_FREE:
                if self.root is None:
                    self.root = tempfile.mkdtemp(prefix="envtool-bench-trash-", dir=tmp_root)
                self.count += 1
                os.rename(path, os.path.join(self.root, "{}-{}".format(self.count, os.path.basename(path))))
                return
        except OSError:
            pass
        if not self.warned:
            self.warned = True
            warn("less than {} GiB free in {}: run directories are removed between runs, and the next run pays for it".format(self.MIN_FREE >> 30, tmp_root))
        shutil.rmtree(path, ignore_errors=True)

    def empty(self):
        if self.root:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
            try:
                os.makedirs(os.path.dirname(TRASH_STAMP), exist_ok=True)
                with open(TRASH_STAMP, "w") as f:
                    f.write("{}\n".format(time.time()))
            except OSError:
                pass


TRASH = Trash()


def run_once(tool, env, tmp_root, errfile, what, gnu_time=None, expect=(), inspect=False, venv=True, first=False, base=None):
    """One run.  Returns (seconds, CPU seconds, peak RSS in MiB, cfg, facts):
    the CPU time is user + system from os.wait4, which counts the process and
    every descendant it waited for (a shell's commands, a tool's Python); cfg is the
    pyvenv.cfg dict (None unless venv), plus, with inspect, "_dists" (the
    installed distributions as sorted "name==version") and "_pyc" (the number
    of .pyc files in the venv); facts is what tool.check returned (or None;
    first is passed on to it).

    With gnu_time, the command runs under GNU time (not timed: its extra
    fork/exec would skew the times) and the RSS is the one GNU time reports.
    Every name in expect must be installed in the venv afterwards.

    base: the run's directory DIR (made empty here, moved to the trash afterwards), the
    same path for every run of a tool (see Context.run_slot); None: a new
    temporary directory."""
    if base:
        TRASH.discard(base, tmp_root)
        os.mkdir(base)
    else:
        base = tempfile.mkdtemp(prefix="envtool-bench-", dir=tmp_root)
    try:
        target = os.path.join(base, "venv")
        argv = [str(a) for a in tool.argv(target)]
        rss_file = os.path.join(base, "rss")
        run_argv = [gnu_time, "-f", "%M", "-o", rss_file, "--"] + argv if gnu_time else argv
        run_env = dict(env)
        tool_env = tool.env(target) if callable(tool.env) else tool.env
        for k, v in (tool_env or {}).items():
            if v is None:
                run_env.pop(k, None)
            else:
                run_env[k] = v
        if tool.setup:
            tool.setup(target)
        errfile.seek(0)
        errfile.truncate()
        out_path = os.path.join(base, "stdout")
        out = open(out_path, "wb") if tool.capture else subprocess.DEVNULL
        gc.collect()
        gc.disable()
        try:
            t0 = time.perf_counter()
            proc = subprocess.Popen(run_argv, stdin=subprocess.DEVNULL, stdout=out, stderr=errfile, env=run_env, cwd=base)
            _, status, usage = os.wait4(proc.pid, 0)
            elapsed = time.perf_counter() - t0
        finally:
            gc.enable()
            if tool.capture:
                out.close()
        proc.returncode = code = exit_code(status)  # reaped by wait4: tell Popen

        def stderr_text():
            errfile.seek(0)
            return errfile.read().decode("utf-8", "replace")

        if code != 0:
            how = "was killed by signal {}".format(-code) if code < 0 else "failed with exit status {}".format(code)
            die("{}: `{}` {}\n  command: {}\n--- stderr ---\n{}--- end of stderr ---".format(what, tool.label, how, " ".join(argv), stderr_text()))
        cfg = None
        if venv:
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
        facts = None
        if tool.check:
            stdout = None
            if tool.capture:
                with open(out_path, "rb") as f:
                    stdout = f.read().decode("utf-8", "replace")
            try:
                facts = tool.check(target, stdout, first)
            except CheckFailed as e:
                die("{}: `{}` exited 0 but {}\n  command: {}\n--- stderr ---\n{}--- end of stderr ---".format(what, tool.label, e, " ".join(argv), stderr_text()))
        rss = usage.ru_maxrss / RSS_DIVISOR
        cpu = usage.ru_utime + usage.ru_stime
        if gnu_time:
            with open(rss_file) as f:
                rss = int(f.read().split()[-1]) / 1024.0
        return elapsed, cpu, rss, cfg, facts
    finally:
        TRASH.discard(base, tmp_root)


def run_workload(wl, ctx, rounds, warmup, tmp_root, rss_runs, gnu_time):
    """rounds, warmup, rss_runs: the ones for this workload (see plan())."""
    tools, baseline = wl.fn(ctx)
    labels = [t.label for t in tools]
    if baseline not in labels:
        die("workload {}: baseline {!r} is not one of its tools {}".format(wl.name, baseline, labels))
    times = {t.label: [] for t in tools}
    cpu = {t.label: [] for t in tools}
    rss = {t.label: [] for t in tools}
    rss_gnu = {t.label: [] for t in tools}
    interp = {}
    facts = {}
    seen = set()
    n = len(tools)
    floor = spawn_floor_mb(ctx.env)
    contents = {}
    slots = {t.label: ctx.run_slot(t.label) for t in tools}
    with tempfile.TemporaryFile(dir=tmp_root) as errfile:
        for tool in tools:
            if tool.prime:
                run_once(tool.prime, ctx.env, tmp_root, errfile, wl.name + " priming run", expect=wl.expect, venv=wl.venv, base=slots[tool.label])
        # What the preparation wrote (fixtures, a priming run's downloads) goes to disk now,
        # not during the timed runs.
        os.sync()
        settle_disk()
        for r in range(warmup + rounds):
            counted = r >= warmup
            what = "{} {} {}".format(wl.name, "round" if counted else "warm-up", (r - warmup if counted else r) + 1)
            for i in range(n):
                tool = tools[(r + i) % n]  # rotate the starting tool each round
                first = tool.label not in seen
                seen.add(tool.label)
                t, c, m, cfg, fact = run_once(tool, ctx.env, tmp_root, errfile, what, expect=wl.expect, inspect=first and bool(wl.expect) and wl.venv, venv=wl.venv, first=first, base=slots[tool.label])
                # What the run left to be written back goes to disk now, untimed: the kernel
                # would otherwise write it during a later run, of whichever tool comes next
                # (an envtool pack's first start makes its extraction durable once the
                # program has ended, for one).
                os.sync()
                if counted:
                    times[tool.label].append(t)
                    cpu[tool.label].append(c)
                    rss[tool.label].append(m)
                if first:  # the first run, a warm-up one unless --warmup 0 (or a cold workload)
                    if cfg is not None:
                        interp[tool.label] = venv_interpreter(cfg)
                        if "_dists" in cfg:
                            contents[tool.label] = (cfg["_dists"], cfg["_pyc"])
                    if fact:
                        facts[tool.label] = fact
        if gnu_time:
            for r in range(rss_runs):
                for i in range(n):
                    tool = tools[(r + i) % n]
                    _, _, m, _, _ = run_once(tool, ctx.env, tmp_root, errfile, "{} RSS run {}".format(wl.name, r + 1), gnu_time, expect=wl.expect, venv=wl.venv, base=slots[tool.label])
                    rss_gnu[tool.label].append(m)
    base_med = statistics.median(times[baseline])
    base_cpu = statistics.median(cpu[baseline])

    def peak_rss(label):
        # GNU time's figure when there is one (exact), else wait4's (floored).
        return statistics.median(rss_gnu[label]) if rss_gnu[label] else statistics.median(rss[label])

    res = collections.OrderedDict()
    for t in tools:
        med = statistics.median(times[t.label])
        cpu_med = statistics.median(cpu[t.label])
        # Same-round differences to the baseline: slow drift of the machine cancels.
        paired = [a - b for a, b in zip(times[t.label], times[baseline])]
        res[t.label] = collections.OrderedDict(
            [
                ("argv", [str(a) for a in t.argv("DIR")]),
                ("primed", t.prime is not None),
                ("median_s", med),
                ("min_s", min(times[t.label])),
                ("max_s", max(times[t.label])),
                ("ratio", med / base_med),
                ("paired_diff_median_s", statistics.median(paired)),
                ("cpu_median_s", cpu_med),
                ("cpu_ratio", cpu_med / base_cpu if base_cpu > 0 else None),
                ("rss_median_mb", statistics.median(rss[t.label])),
                ("rss_at_floor", statistics.median(rss[t.label]) <= floor * 1.05),
                ("rss_gnu_time_median_mb", statistics.median(rss_gnu[t.label]) if rss_gnu[t.label] else None),
                ("rss_ratio", peak_rss(t.label) / peak_rss(baseline)),
                ("venv_home", interp.get(t.label, (None, None))[0]),
                ("venv_version", interp.get(t.label, (None, None))[1]),
                ("venv_distributions", contents.get(t.label, (None, None))[0]),  # ["name==version", ...]
                ("venv_pyc_files", contents.get(t.label, (None, None))[1]),
                ("facts", facts.get(t.label)),
                ("times_s", times[t.label]),
                ("cpu_s", cpu[t.label]),
                ("rss_mb", rss[t.label]),
                ("rss_gnu_time_mb", rss_gnu[t.label]),
            ]
        )
    return baseline, res, floor


def goal_result(goal, baseline, res):
    """(met, text, value shown, value) for one Goal, or None if it names a tool
    the workload lacks; value is what the limit bounds (larger is worse)."""
    if goal.label not in res:
        return None
    r = res[goal.label]
    if goal.kind == "ratio":
        got = r["ratio"]
        return got <= goal.limit, "{} <= {:.2f}x {}".format(goal.label, goal.limit, baseline), "{:.2f}x".format(got), got
    if goal.kind == "cpu":
        got = r["cpu_ratio"]
        if got is None:
            return None
        return got <= goal.limit, "{} CPU time <= {:.2f}x {}'s".format(goal.label, goal.limit, baseline), "{:.2f}x".format(got), got
    if goal.kind == "rss":
        got = r["rss_ratio"]
        src = "GNU time" if r["rss_gnu_time_median_mb"] is not None else "wait4"
        return got <= goal.limit, "{} peak RSS <= {:.2f}x {}'s ({})".format(goal.label, goal.limit, baseline, src), "{:.2f}x".format(got), got
    if goal.kind == "diff_ms":
        got = r["paired_diff_median_s"] * 1000
        return got <= goal.limit, "{} - {} <= {:.1f} ms (median of the same-round differences)".format(goal.label, baseline, goal.limit), "{:+.1f} ms".format(got), got
    if goal.kind == "wall_s":
        got = r["median_s"]
        return got <= goal.limit, "{} median <= {:.2f} s".format(goal.label, goal.limit), fmt_ms(got), got
    if goal.kind == "size":
        mine = (r["facts"] or {}).get("size_bytes")
        other = (res.get(goal.limit, {}).get("facts") or {}).get("size_bytes")
        if mine is None or other is None:
            return None
        return mine <= other, "size of {} <= size of {}".format(goal.label, goal.limit), "{} vs {} bytes, {:.2f}x".format(mine, other, mine / float(other)), mine / float(other)
    die("unknown goal kind {!r}".format(goal.kind))


# --------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------


def fmt_ms(s):
    return "{:.1f} ms".format(s * 1000) if s < 10 else "{:.2f} s".format(s)


def fmt_delta(s):
    return "{:+.1f} ms".format(s * 1000) if abs(s) < 10 else "{:+.2f} s".format(s)


def fmt_size(n):
    return "{:.2f} MiB ({} bytes)".format(n / 1048576.0, n)


def print_table(wl, baseline, res, rounds, warmup, floor, rss_runs, variant=None, n_variants=1):
    print()
    if variant is None or variant.key is None:
        print("== {} == {}".format(wl.name, wl.help))
    else:
        print("== {} [{}] == {}".format(wl.name, variant.key, wl.help))
        cache = {"shared": "the shared caches in bench/.cache", "fresh": "caches made for this run (filled by the priming runs)",
                 "per-run": "a new empty cache every run"}.get(variant.cache, variant.cache)
        print("   interpreter {} (Python {}){}".format(variant.python, variant.key.split()[0], "; cache: " + cache if cache else ""))
    primed = " (after one untimed priming run of each tool)" if any(r["primed"] for r in res.values()) else ""
    print("   {} rounds + {} warm-up{}, interleaved, rotating start; baseline: {}".format(rounds, warmup, primed, baseline))
    gnu = any(r["rss_gnu_time_median_mb"] is not None for r in res.values())
    head = ["tool", "median", "min", "/ " + baseline, "paired diff", "CPU", "CPU ratio", "RSS wait4"]
    if gnu:
        head.append("RSS GNU time")
    rows = []
    for label, r in res.items():
        wait4 = "{}{:.1f} MB".format("<=" if r["rss_at_floor"] else "", r["rss_median_mb"])
        diff = "-" if label == baseline else fmt_delta(r["paired_diff_median_s"])
        cpu_ratio = "-" if r["cpu_ratio"] is None else "{:.2f}x".format(r["cpu_ratio"])
        row = [label, fmt_ms(r["median_s"]), fmt_ms(r["min_s"]), "{:.2f}x".format(r["ratio"]), diff, fmt_ms(r["cpu_median_s"]), cpu_ratio, wait4]
        if gnu:
            g = r["rss_gnu_time_median_mb"]
            row.append("-" if g is None else "{:.1f} MB".format(g))
        rows.append(row)
    widths = [max(len(row[i]) for row in [head] + rows) for i in range(len(head))]
    for row in [head] + rows:
        print("   " + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    print("   (paired diff: median over the rounds of the tool's time minus the baseline's in the same round."
          " CPU: median user+sys time from wait4 (the process and the children it waited for); CPU ratio: that over the baseline's."
          " RSS wait4: median of the timed runs, floored at {:.1f} MB, this process's own peak; \"<=\" = at the floor.{})".format(
              floor, " RSS GNU time: median of {} untimed runs under /usr/bin/time.".format(rss_runs) if gnu else ""))
    w = widths[0]
    if wl.venv:
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
    for label, r in res.items():
        f = r["facts"]
        if not f:
            continue
        shown = []
        for k, v in f.items():
            if k == "size_bytes":
                shown.append("size " + fmt_size(v))
            elif k == "_items":
                shown.append("{} entries".format(len(v)))
            else:
                shown.append("{} {}".format(k, v))
        print("   {:<{w}}  {}".format(label, ", ".join(shown), w=w))
    items = [set(r["facts"]["_items"]) for r in res.values() if r["facts"] and "_items" in r["facts"]]
    if items and any(s != items[0] for s in items):
        everywhere = set.intersection(*items)
        for label, r in res.items():
            if r["facts"] and "_items" in r["facts"]:
                only = sorted(set(r["facts"]["_items"]) - everywhere)
                if only:
                    print("   only {} lists: {}".format(label, " ".join(only)))
    for goal in wl.goals if n_variants == 1 else ():  # else: print_summary, over all variants
        got = goal_result(goal, baseline, res)
        if got:
            met, text, value, _ = got
            print("   target: {}: {} ({})".format(text, "MET" if met else "NOT MET", value))


def ratio_cells(r):
    """wall / CPU / peak-RSS ratios of one tool to the baseline, for the summary."""
    cpu = "-" if r["cpu_ratio"] is None else "{:.2f}x".format(r["cpu_ratio"])
    return "{:.2f}x / {} / {:.2f}x".format(r["ratio"], cpu, r["rss_ratio"])


def worst_of(variants, baseline):
    """{label: {"wall"|"cpu"|"rss": (ratio, variant key)}}: the largest ratio
    to the baseline over the variants, for every tool but the baseline."""
    worst = collections.OrderedDict()
    for v in variants:
        for label, r in v["tools"].items():
            if label == baseline:
                continue
            w = worst.setdefault(label, collections.OrderedDict())
            for kind, value in (("wall", r["ratio"]), ("cpu", r["cpu_ratio"]), ("rss", r["rss_ratio"])):
                if value is not None and (kind not in w or value > w[kind][0]):
                    w[kind] = (value, v["key"])
    return worst


def worst_goals(wl, baseline, variants):
    """Each goal over all variants: MET only if met by every one; the value
    shown is the worst variant's."""
    out = []
    for goal in wl.goals:
        got = [(goal_result(goal, baseline, v["tools"]), v["key"]) for v in variants]
        got = [(g, k) for g, k in got if g]
        if not got:
            continue
        (met, text, value, num), key = max(got, key=lambda gk: gk[0][3])
        out.append(collections.OrderedDict([
            ("kind", goal.kind), ("tool", goal.label), ("limit", goal.limit), ("text", text), ("value", value),
            ("met", all(g[0] for g, _ in got)), ("worst_variant", key), ("variants", len(got)),
        ]))
    return out


def print_summary(wl, baseline, variants, goals):
    """One line per variant (ratios to the baseline), the worst, and the goals over all variants."""
    labels = [l for l in variants[0]["tools"] if l != baseline]
    names = [chr(ord("A") + i) if len(labels) > 1 else labels[0] for i in range(len(labels))]
    print()
    print("== {} == summary: wall / CPU / peak RSS of each tool over {}'s; the worst line counts".format(wl.name, baseline))
    if len(labels) > 1:
        for n, l in zip(names, labels):
            print("   {} = {}".format(n, l))
    head = ["variant", baseline + " median"] + names
    rows = []
    for v in variants:
        rows.append([v["key"], fmt_ms(v["tools"][baseline]["median_s"])] + [ratio_cells(v["tools"][l]) for l in labels])
    worst = worst_of(variants, baseline)
    cells = []
    for l in labels:
        w = worst.get(l, {})
        cells.append(" / ".join("-" if k not in w else "{:.2f}x".format(w[k][0]) for k in ("wall", "cpu", "rss")))
    rows.append(["WORST", ""] + cells)
    widths = [max(len(row[i]) for row in [head] + rows) for i in range(len(head))]
    for row in [head] + rows:
        print("   " + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i]) for i, c in enumerate(row)))
    for l in labels:
        w = worst.get(l, {})
        print("   worst for {}: {}".format(l, ", ".join("{} {:.2f}x ({})".format(k if k != "wall" else "wall", w[k][0], w[k][1]) for k in ("wall", "cpu", "rss") if k in w)))
    for g in goals:
        print("   target: {}, worst of {} ({}): {} ({})".format(g["text"], g["variants"], g["worst_variant"], "MET" if g["met"] else "NOT MET", g["value"]))


def run_all(args, selected, ctx, tmp_root, gnu_time, results):
    for wl in selected:
        if wl.cold:
            # Cold runs are slow and all alike (nothing to warm): fewer rounds, no warm-up.
            rounds, warmup, rss_runs = args.cold_rounds, 0, min(args.rss_runs, 1)
        else:
            rounds = args.rounds or wl.rounds or DEFAULT_ROUNDS
            warmup = args.warmup if args.warmup is not None else (DEFAULT_WARMUP if wl.warmup is None else wl.warmup)
            rss_runs = args.rss_runs
        variants = wl.variants(ctx)
        done = []
        baseline = None
        for v in variants:
            ctx.python, ctx.variant = v.python, v
            fresh = tempfile.mkdtemp(prefix="envtool-bench-cache-", dir=tmp_root) if v.cache == "fresh" else None
            ctx.cache_root = fresh or CACHE_DIR
            load = os.getloadavg()
            try:
                baseline, res, floor = run_workload(wl, ctx, rounds, warmup, tmp_root, rss_runs, gnu_time)
            finally:
                ctx.python, ctx.variant, ctx.cache_root = ctx.default_python, None, CACHE_DIR
                if fresh:
                    TRASH.discard(fresh, tmp_root)
            print_table(wl, baseline, res, rounds, warmup, floor, rss_runs, v, len(variants))
            sys.stdout.flush()
            done.append(collections.OrderedDict([
                ("key", v.key), ("python", v.python), ("python_version", ctx.python_version(v.python)), ("cache", v.cache),
                ("extra", v.extra), ("wait4_rss_floor_mb", floor), ("loadavg_start", list(load)), ("loadavg_end", list(os.getloadavg())),
                ("tools", res),
            ]))
        goals = worst_goals(wl, baseline, done)
        if len(done) > 1:
            print_summary(wl, baseline, done, goals)
        if goals and rounds < DEFAULT_ROUNDS:
            print("   (only {} rounds: the targets are for medians of at least {})".format(rounds, DEFAULT_ROUNDS))
        sys.stdout.flush()
        entry = collections.OrderedDict([("baseline", baseline), ("cold", wl.cold), ("rounds", rounds), ("warmup", warmup), ("rss_runs", rss_runs if gnu_time else 0)])
        if goals:
            entry["targets"] = goals
        worst = worst_of(done, baseline)
        entry["worst"] = collections.OrderedDict(
            (label, collections.OrderedDict((k, collections.OrderedDict([("ratio", v[0]), ("variant", v[1])])) for k, v in w.items()))
            for label, w in worst.items())
        entry["variants"] = done
        if len(done) == 1:  # as before variants existed
            entry["wait4_rss_floor_mb"] = done[0]["wait4_rss_floor_mb"]
            entry["tools"] = done[0]["tools"]
        results[wl.name] = entry


def tool_version(argv, env):
    out = run_capture(argv, env=env, check=False).strip().splitlines()
    line = out[0] if out else "(no output)"
    return re.sub(r" from /.*$", "", line)  # virtualenv appends its install path


def main():
    ap = argparse.ArgumentParser(description="Benchmark envtool against uv, virtualenv and python -m venv.")
    ap.add_argument("workloads", nargs="*", metavar="WORKLOAD", help="workloads to run (default: all; see --list)")
    ap.add_argument("--list", action="store_true", help="list the workloads and exit")
    ap.add_argument("--envtool", default=os.path.join(REPO_ROOT, "target", "release", "envtool"), help="envtool binary (default: target/release/envtool in the repo)")
    ap.add_argument("--envtool-baseline", metavar="PATH", help="a second envtool binary (e.g. a build of main), run as its own tool \"... (baseline)\" next to --envtool in the same interleaved rounds of every workload that runs envtool, with its own caches")
    ap.add_argument("--python", help="real interpreter to name to every tool in the single-interpreter workloads (default: newest ~/.pyenv/versions/3.1X.Y/bin/python3.X)")
    ap.add_argument("--pythons", default="3.11,3.13", help="comma-separated interpreters for the workloads run on several (the install-* and resolve-* ones, pack-warm-start-pyenv): X.Y (the newest ~/.pyenv/versions/X.Y.Z/bin/pythonX.Y) or paths (default: 3.11,3.13)")
    ap.add_argument("--rounds", type=int, help="counted rounds per workload (default: the workload's own, else {}; see --list)".format(DEFAULT_ROUNDS))
    ap.add_argument("--warmup", type=int, help="uncounted warm-up rounds (default: the workload's own, else {})".format(DEFAULT_WARMUP))
    ap.add_argument("--rss-runs", type=int, default=3, help="extra untimed runs per tool under GNU time (/usr/bin/time) for an exact peak RSS; 0: none (default 3; at most 1 for cold workloads)")
    ap.add_argument("--cold-rounds", type=int, default=5, help="counted rounds for the cold workloads (*-cold), which have no warm-up (default 5)")
    ap.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    ap.add_argument("--tmpdir", help="where the per-run temporary directories go (default: the system temp dir)")
    ap.add_argument("--paths", choices=("same", "new"), default="same", help="same (default): each tool's run directory has the same path in every run, as for a user re-creating .venv; new: a new temporary directory every run (uv then re-asks the venv's interpreter every run)")
    args = ap.parse_args()

    if args.list:
        for wl in WORKLOADS.values():
            extra = "  [peers: {}]".format(", ".join(wl.peers)) if wl.peers else ""
            if wl.rounds or wl.warmup is not None:
                extra += "  [default rounds {}, warm-up {}]".format(wl.rounds or DEFAULT_ROUNDS, DEFAULT_WARMUP if wl.warmup is None else wl.warmup)
            if wl.variants is not default_variant:
                extra += "  [{}]".format(VARIANT_NOTES.get(wl.variants, "variants"))
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
    if (args.rounds is not None and args.rounds < 1) or args.cold_rounds < 1 or (args.warmup is not None and args.warmup < 0) or args.rss_runs < 0:
        die("--rounds and --cold-rounds must be >= 1, --warmup and --rss-runs >= 0")
    selected = [WORKLOADS[n] for n in names]

    envtool = check_envtool(os.path.abspath(args.envtool))
    envtool_baseline = check_envtool(os.path.abspath(args.envtool_baseline)) if args.envtool_baseline else None
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
    pythons = [find_python(p, env) for p in args.pythons.split(",") if p.strip()]
    if not pythons:
        die("--pythons names no interpreter")
    tmp_root = os.path.abspath(args.tmpdir) if args.tmpdir else tempfile.gettempdir()
    if not os.path.isdir(tmp_root):
        die("--tmpdir {} is not a directory".format(tmp_root))
    if os.stat(CACHE_DIR).st_dev != os.stat(tmp_root).st_dev:
        warn("{} (the shared caches) and {} (the runs, the fresh caches) are on different filesystems: in the shared-cache"
             " runs no tool can hard-link from its cache, so they copy (a user's cache and envs are usually on one filesystem);"
             " pass --tmpdir on the cache's filesystem".format(CACHE_DIR, tmp_root))

    peers = []
    for wl in selected:
        peers += [p for p in wl.peers if p not in peers]
    ensure_peers(peers, python)
    ctx = Context(envtool, python, env, tmp_root, same_paths=(args.paths == "same"), pythons=pythons, envtool_baseline=envtool_baseline)

    meta = collections.OrderedDict()
    meta["date"] = datetime.datetime.now().astimezone().isoformat(timespec="seconds")
    meta["uname"] = "{} {}".format(platform.system(), platform.release())
    meta["cpus"] = os.cpu_count()
    meta["loadavg_start"] = list(os.getloadavg())
    meta["python"] = python
    meta["python_version"] = run_capture([python, "--version"], env=env).strip()
    multi = any(wl.variants is not default_variant for wl in selected)
    meta["pythons"] = [collections.OrderedDict([("python", p), ("version", ctx.python_version(p))]) for p in pythons] if multi else []
    meta["peers_python"] = os.path.realpath(os.path.join(PEERS_DIR, "bin", "python")) if peers else None
    meta["tmpdir"] = tmp_root
    meta["paths"] = args.paths
    gnu_time = find_gnu_time() if args.rss_runs else None
    meta["gnu_time"] = gnu_time
    versions = collections.OrderedDict()
    versions["envtool"] = tool_version([envtool, "--version"], env)
    if envtool_baseline:
        versions["envtool (baseline)"] = tool_version([envtool_baseline, "--version"], env)
    meta["envtool"] = envtool
    meta["envtool_baseline"] = envtool_baseline
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
    if multi:
        print("pythons: {}  (--pythons: the workloads run on several interpreters)".format(", ".join("{} ({})".format(p["python"], p["version"]) for p in meta["pythons"])))
    print("python3 on PATH: {}{}".format(path_py, " (pyenv shim)" if path_py and "/shims/" in path_py else ""))
    if env_note:
        print("note:    " + env_note)
    print("runs:    in {}, {}".format(tmp_root, "each tool's run directory at the same path every run" if args.paths == "same" else "a new directory every run (--paths new)"))
    print("envtool: {} ({})".format(envtool, versions["envtool"]))
    if envtool_baseline:
        print("envtool (baseline): {} ({})".format(envtool_baseline, versions["envtool (baseline)"]))
    for p in peers:
        if p in versions:
            print("{:<8} {} ({})".format(p + ":", ctx.peer(PEER_VERSION_COMMANDS[p][0]), versions[p]))
    if meta["loadavg_start"][0] > max(1.5, 0.9 * (os.cpu_count() or 2)):
        warn("load average {:.2f}: something else is running; timings will be noisy".format(meta["loadavg_start"][0]))
    sys.stdout.flush()

    results = collections.OrderedDict()
    try:
        run_all(args, selected, ctx, tmp_root, gnu_time, results)
    finally:
        ctx.cleanup()
        TRASH.empty()
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
