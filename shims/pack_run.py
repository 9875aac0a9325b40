"""envtool pack runner: checks the interpreter, then runs the pack's entry point from its
extracted copy.

Started as `python -I -S <extraction>/.envtool/run.py PACK SIZE ARGS...` by the bootstrap
after extracting; on a warm start, the sh header runs it as __main__ the same way, through
`shims/pack_warm.py` (from the code the first start compiled, when there is one): isolated
from the user's environment and without the interpreter's own site-packages. SIZE is the
pack's size as built, or `-`.

It makes the checks a first start makes, on every start: the interpreter is one this
extraction's wheel set fits (implementation, version, and for native wheels platform and
ABI), and the pack file still has the size it was built with. Then it puts the pack's
site-packages first on sys.path (processing .pth files), records the last use (so
`envtool cache prune` keeps it), holds a shared lock while running (so pruning never removes
it in use), and runs the entry point with sys.argv[0] set to the pack's path.

The writer replaces the MANIFEST line below with the pack's manifest (JSON, which is a Python
literal once true/false/null are names), so a start reads no other file than `target`.
"""
import sys

true, false, null = True, False, None
MANIFEST = {}  # envtool pack: the manifest goes here


def fail(message, hint):
    sys.stderr.write("error: %s\nhint: %s\n" % (message, hint))
    sys.exit(1)


def describe(target):
    """`cpython 3.12`, `cpython 3.8 or later`, `cpython 3.12 on linux-x86_64`."""
    low, high = target["versions"]
    if low == high:
        versions = "3.%d" % low
    elif high is None:
        versions = "3.%d or later" % low
    else:
        versions = "3.%d to 3.%d" % (low, high)
    text = "%s %s" % (target["implementation"], versions)
    if target.get("platform"):
        text += " on %s" % target["platform"]
    return text


def fits(target):
    """Whether this interpreter can run the target's wheel set (cheap: no sysconfig)."""
    if sys.implementation.name != target["implementation"]:
        return False
    major, minor = sys.version_info[:2]
    low, high = target["versions"]
    if major != 3 or minor < low or (high is not None and minor > high):
        return False
    abi = target.get("abi")
    if abi is not None:
        import os

        if sys.platform != abi["sys_platform"] or os.uname().machine != abi["machine"]:
            return False
        if ("t" in getattr(sys, "abiflags", "")) != abi["gil_disabled"]:
            return False
        if hasattr(sys, "gettotalrefcount") != abi["debug"]:
            return False
    return True


def choose(manifest):
    """The first target this interpreter fits, else None."""
    for target in manifest["targets"]:
        if fits(target):
            return target
    return None


def wrong_interpreter(manifest, pack):
    """Exit 1 naming what the pack carries and what this interpreter is."""
    import os

    targets = manifest["targets"]
    have = "%s %s on %s-%s (%s)" % (
        sys.implementation.name,
        ".".join(map(str, sys.version_info[:3])),
        sys.platform,
        os.uname().machine,
        sys.executable,
    )
    names = []
    for t in targets:
        low, high = t["versions"]
        names.append("python3.%d" % (low if high is None else high))
    if len(targets) == 1:
        message = "this pack needs %s, and this is %s" % (describe(targets[0]), have)
    else:
        message = "this pack carries wheel sets for %s; none fits %s" % (
            ", ".join(describe(t) for t in targets),
            have,
        )
    fail(message, "run it with a matching interpreter, e.g. %s %s" % (" or ".join(names), pack))


def check_size(pack, size):
    if size == "-":
        return
    import os

    try:
        have = os.stat(pack).st_size
    except OSError:
        return
    if have != int(size):
        fail(
            "%s is damaged: its size is not the size it was built with" % pack,
            "get a fresh copy of the file (it was truncated or changed)",
        )


def certificates():
    """A carried OpenSSL looks for CA certificates where the build host keeps them; on a
    host that keeps them elsewhere, point it at the host's bundle."""
    import os

    runtime = MANIFEST["runtime"]
    if os.environ.get("SSL_CERT_FILE") or os.environ.get("SSL_CERT_DIR"):
        return
    cafile, capath = runtime.get("cafile"), runtime.get("capath")
    if (cafile and os.path.exists(cafile)) or (capath and os.path.isdir(capath)):
        return
    for bundle in (
        "/etc/ssl/certs/ca-certificates.crt",
        "/etc/pki/tls/certs/ca-bundle.crt",
        "/etc/ssl/ca-bundle.pem",
        "/etc/ssl/cert.pem",
        "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
    ):
        if os.path.exists(bundle):
            os.environ["SSL_CERT_FILE"] = bundle
            return


def main():
    import os

    if len(sys.argv) < 3:
        fail("%s is started by a pack, not directly" % sys.argv[0], "run the pack file itself")
    run_dir = os.path.dirname(os.path.abspath(__file__))
    here = os.path.dirname(run_dir)
    if sys.path and sys.path[0] in ("", run_dir):
        del sys.path[0]  # Python < 3.11 puts the script's directory first even under -I
    pack, size = sys.argv[1], sys.argv[2]
    with open(os.path.join(run_dir, "target"), encoding="utf-8") as f:
        key = f.read().strip()
    target = [t for t in MANIFEST["targets"] if t["key"] == key][0]
    if not fits(target):
        wrong_interpreter({"targets": [target]}, pack)
    check_size(pack, size)
    complete = os.path.join(here, ".complete")
    try:
        import fcntl

        try:
            lock = open(complete, "r")
            os.utime(complete, None)
        except FileNotFoundError:
            # Still being made durable (the first start): `cache prune` checks this lock too.
            lock = open(os.path.join(here, ".pending"), "r")
        fcntl.flock(lock.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        globals()["_lock"] = lock  # held until the process ends
    except (ImportError, OSError):
        pass
    if MANIFEST.get("runtime"):
        certificates()

    site_packages = os.path.join(here, "site-packages")
    sys.path.insert(0, site_packages)
    if target["pth"]:
        import site

        site.addsitedir(site_packages)

    sys.argv = [pack] + sys.argv[3:]
    entry = MANIFEST["entry"]
    kind = entry["kind"]
    if kind == "module":
        import runpy

        # As `python -m`: the working directory is importable (after the pack's own packages),
        # and sys.argv[0] stays the pack's path.
        sys.path.append(os.getcwd())
        runpy._run_module_as_main(entry["module"], alter_argv=False)
    elif kind == "function":
        module = __import__(entry["module"], fromlist=["_"])
        obj = module
        for attr in entry["attr"].split("."):
            obj = getattr(obj, attr)
        sys.exit(obj())
    else:
        # A file the distribution installs into bin/: a Python script runs in this process,
        # anything else (a native binary, a shell script) is executed.
        path = os.path.join(here, "bin", entry["command"])
        if entry.get("python"):
            import runpy

            runpy.run_path(path, run_name="__main__")
        else:
            os.execv(path, sys.argv)


if __name__ == "__main__":
    main()
