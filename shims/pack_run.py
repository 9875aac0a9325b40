"""envtool pack runner: runs the pack's entry point from its extracted copy.

Started as `python -I -S <extraction>/.envtool/run.py PACK ARGS...`: isolated from the user's
environment and without the interpreter's own site-packages. Puts the pack's site-packages
first on sys.path (processing .pth files), records the last use (so `envtool cache prune`
keeps it), holds a shared lock while running (so pruning never removes it in use), and runs
the entry point with sys.argv[0] set to the pack's path.
"""
import json
import os
import sys

here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
site_packages = os.path.join(here, "site-packages")

try:
    import fcntl

    _lock = open(os.path.join(here, ".complete"), "r")
    fcntl.flock(_lock.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
    os.utime(os.path.join(here, ".complete"), None)
except (ImportError, OSError):
    pass

with open(os.path.join(here, ".envtool", "manifest.json"), encoding="utf-8") as f:
    manifest = json.load(f)

sys.path.insert(0, site_packages)
if manifest.get("pth"):
    import site

    site.addsitedir(site_packages)

sys.argv = sys.argv[1:]
entry = manifest["entry"]
if entry["kind"] == "module":
    import runpy

    # As `python -m`: the working directory is importable (after the pack's own packages),
    # and sys.argv[0] stays the pack's path.
    sys.path.append(os.getcwd())
    runpy._run_module_as_main(entry["module"], alter_argv=False)
else:
    module = __import__(entry["module"], fromlist=["_"])
    target = module
    for attr in entry["attr"].split("."):
        target = getattr(target, attr)
    sys.exit(target())
