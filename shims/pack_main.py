"""envtool pack bootstrap: the zip application's __main__.

Checks that this interpreter is the one the pack was built for, verifies the payload against
the content hash in the manifest, extracts it once into the pack root (atomically, so many
copies may start at once), then runs the extracted copy with `python -I -S`, so the user's
environment (PYTHONPATH, user site, an active venv, the interpreter's own site-packages)
does not leak into the pack's imports.
"""
import os
import sys

if not (sys.flags.isolated and sys.flags.no_site):
    # Started as `python PACK` with the user's environment: start again isolated and without
    # site-packages, so that neither PYTHONPATH, a user site nor the interpreter's own
    # packages can replace the modules this bootstrap imports or the pack's.
    os.execv(sys.executable, [sys.executable, "-I", "-S"] + sys.argv)

import hashlib
import json
import shutil
import sysconfig
import tempfile
import zipfile
import zlib

PAYLOAD = "site-packages/"


def fail(message, hint):
    sys.stderr.write("error: %s\nhint: %s\n" % (message, hint))
    sys.exit(1)


def pack_path():
    # Run as `python PACK`: __file__ is PACK/__main__.py.
    return os.path.dirname(os.path.abspath(__file__))


def check_interpreter(manifest):
    need = manifest["python"]
    have_version = "%d.%d" % sys.version_info[:2]
    have_impl = sys.implementation.name
    problems = []
    if have_version != need["version"] or have_impl != need["implementation"]:
        problems.append("%s %s" % (need["implementation"], need["version"]))
    platform = need.get("platform")
    if platform and sysconfig.get_platform() != platform:
        problems.append("on %s" % platform)
    if problems:
        fail(
            "this pack needs %s %s%s, and this is %s %s on %s (%s)"
            % (
                need["implementation"],
                need["version"],
                " on %s" % platform if platform else "",
                have_impl,
                ".".join(map(str, sys.version_info[:3])),
                sysconfig.get_platform(),
                sys.executable,
            ),
            "run it with a matching interpreter, e.g. python%s %s" % (need["version"], pack_path()),
        )


def pack_root():
    root = os.environ.get("ENVTOOL_PACK_ROOT")
    if root:
        return root
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "envtool", "pack-v1")


def extract(archive, manifest, root):
    """Extract into root/<hash>, atomically, checking the content hash on the way (one pass
    over the payload); returns the directory."""
    target = os.path.join(root, manifest["content_hash"])
    if os.path.exists(os.path.join(target, ".complete")):
        return target
    os.makedirs(root, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".extract-", dir=root)
    try:
        digest = hashlib.sha256()
        made = set()
        infos = sorted(
            (i for i in archive.infolist() if not i.filename.endswith("/")),
            key=lambda i: i.filename.encode("utf-8"),
        )
        for info in infos:
            name = info.filename
            if not (name.startswith(PAYLOAD) or name.startswith(".envtool/")):
                continue
            data = archive.read(info)
            if name.startswith(PAYLOAD):
                digest.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
            dest = os.path.join(staging, *name.split("/"))
            parent = os.path.dirname(dest)
            if parent not in made:
                os.makedirs(parent, exist_ok=True)
                made.add(parent)
            with open(dest, "wb") as out:
                out.write(data)
            mode = (info.external_attr >> 16) & 0o777
            os.chmod(dest, 0o755 if mode & 0o111 else 0o644)
        if digest.hexdigest() != manifest["content_hash"]:
            fail("%s is damaged: its contents do not match its content hash" % pack_path(), "get a fresh copy of the file")
        if manifest.get("compile"):
            import compileall

            compileall.compile_dir(os.path.join(staging, "site-packages"), quiet=2)
        with open(os.path.join(staging, ".complete"), "w") as f:
            f.write(manifest["content_hash"] + "\n")
        try:
            os.rename(staging, target)
        except OSError:
            # Another copy finished first: use its extraction.
            if not os.path.exists(os.path.join(target, ".complete")):
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def main():
    path = pack_path()
    try:
        archive = zipfile.ZipFile(path)
        manifest = json.loads(archive.read(".envtool/manifest.json").decode("utf-8"))
    except Exception as e:  # a damaged file: say so, without a traceback
        fail("%s is not a readable envtool pack (%s)" % (path, e), "get a fresh copy of the file")
    check_interpreter(manifest)
    root = pack_root()
    target = os.path.join(root, manifest["content_hash"])
    damaged = (zipfile.BadZipFile, zlib.error, EOFError, KeyError)
    if not os.path.exists(os.path.join(target, ".complete")):
        try:
            try:
                target = extract(archive, manifest, root)
            except OSError as e:
                fallback = tempfile.mkdtemp(prefix="envtool-pack-")
                sys.stderr.write("warning: cannot extract into %s (%s); using %s for this run\n" % (root, e, fallback))
                target = extract(archive, manifest, fallback)
        except damaged as e:
            fail("%s is damaged (%s)" % (path, e), "get a fresh copy of the file")
    run = os.path.join(target, ".envtool", "run.py")
    # Run the extracted copy in this process (already isolated, -I -S): the zip leaves
    # sys.path, and sys.argv[0] is the pack as invoked, as the sh header passes "$0".
    import runpy

    archive.close()
    sys.path[:] = [p for p in sys.path if os.path.abspath(p) != path]
    sys.argv = [run, sys.argv[0]] + sys.argv[1:]
    runpy.run_path(run, run_name="__main__")


main()
