"""envtool pack bootstrap: the zip application's __main__.

Picks the wheel set this interpreter fits (a pack may carry several, one per Python), verifies
it against its content hash, extracts it once into the pack root (atomically, so many copies
may start at once), then runs the extracted runner with `python -I -S`, so the user's
environment (PYTHONPATH, user site, an active venv, the interpreter's own site-packages) does
not leak into the pack's imports.

A standalone pack carries its interpreter as `.envtool/runtime.tar.gz` and its wheel set (with
bytecode) as `.envtool/payload.tar.gz`: the sh header unpacks both with no Python
(ENVTOOL_PACK_RUNTIME names that directory), and this bootstrap checks the set's archive
against its hash and moves both into the extraction; started by another Python, it unpacks them itself and
hands over to the carried interpreter.

An extraction's directory name is its id: a hash of the manifest (entry, compile flag,
interpreters, payload hashes), the runner, this bootstrap and the wheel set's key, so packs
that differ in anything that decides what runs never share one.

Nothing another local user could have planted is ever run: the pack root and each extraction
are created private (0700), and a root, extraction or `.complete` that is not this user's, or
that others can write, is not used (an extraction is set aside and made again; with such a
root the pack extracts into a private temporary directory for the run). An extraction is
staged in a `.extract-*` directory holding a lock (`.lock`, shared flock) until it is in place,
so `envtool cache prune` never removes it under a starting pack. It is renamed into place
with `.pending`, which names the boot it was made in: the page cache holds it whole until the
machine restarts, so this boot may use it at once. A detached process then (once the program
has ended, or after a few seconds of a long-running one) syncs it to disk and writes
`.complete` (synced too); only `.complete` is trusted after a restart (and by the
sh header's warm path), and an extraction a restart caught with no `.complete` is made again.
So a first start does not wait for the disk, and a power loss never leaves a half-written
extraction that is used.
"""
import os
import sys

if not (sys.flags.isolated and sys.flags.no_site):
    # Started as `python PACK` with the user's environment: start again isolated and without
    # site-packages, so that neither PYTHONPATH, a user site nor the interpreter's own
    # packages can replace the modules this bootstrap imports or the pack's.
    os.execv(sys.executable, [sys.executable, "-I", "-S"] + sys.argv)

import errno
import hashlib
import json
import shutil
import stat
import tempfile
import zipfile
import zlib

SHARED = ("site-packages/", "bin/")
RUNTIME = ".envtool/runtime.tar.gz"
PAYLOAD = ".envtool/payload.tar.gz"


def fail(message, hint):
    sys.stderr.write("error: %s\nhint: %s\n" % (message, hint))
    sys.exit(1)


def pack_path():
    # Run as `python PACK`: __file__ is PACK/__main__.py.
    return os.path.dirname(os.path.abspath(__file__))


TRUST_HINT = "set ENVTOOL_PACK_ROOT to a directory only you can write"


def pack_root():
    # As the sh header computes it: ${ENVTOOL_PACK_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/...},
    # a relative one taken from the working directory.
    root = os.environ.get("ENVTOOL_PACK_ROOT")
    if not root:
        cache = os.environ.get("XDG_CACHE_HOME") or (os.environ.get("HOME") or "") + "/.cache"
        root = os.path.join(cache, "envtool", "pack-v1")
    return os.path.abspath(root)


def untrusted(st, kind, what):
    """Why the file or directory `st` describes cannot be trusted (it is not a `what`, is not
    this user's, or others can write it), or None."""
    if not kind(st.st_mode):
        return "it is not a %s" % what
    if st.st_uid != os.geteuid():
        return "it belongs to another user (uid %d)" % st.st_uid
    if st.st_mode & 0o022:
        return "others can write it"
    return None


def private_root(root):
    """Create the pack root private (0700) when it is missing; why it cannot be used, or None."""
    try:
        os.makedirs(root, 0o700)
    except FileExistsError:
        pass
    except OSError as e:
        return "it cannot be created (%s)" % (e.strerror or e)
    try:
        st = os.stat(root)  # a link to the root is judged by what it points to
    except OSError as e:
        return "it cannot be read (%s)" % (e.strerror or e)
    return untrusted(st, stat.S_ISDIR, "directory")


PENDING = ".pending"


def boot_id():
    """This boot's id (Linux), or None where there is none to tell boots apart."""
    try:
        with open("/proc/sys/kernel/random/boot_id", "rb") as f:
            return f.read(64).strip().decode("ascii") or None
    except (OSError, UnicodeDecodeError):
        return None


def check_extraction(final):
    """"ok" for a finished extraction of this user that nobody else can write, None when there
    is nothing at `final`, else why what is there must not be used. Finished: with `.complete`
    (on disk), or with `.pending` made in this boot (whole in the page cache)."""
    try:
        st = os.lstat(final)
    except FileNotFoundError:
        return None
    except OSError as e:
        return "it cannot be read (%s)" % (e.strerror or e)
    why = untrusted(st, stat.S_ISDIR, "directory")
    if why:
        return why
    try:
        st = os.lstat(os.path.join(final, ".complete"))
    except OSError:
        return check_pending(final)
    why = untrusted(st, stat.S_ISREG, "file")
    return "its .complete: " + why if why else "ok"


def check_pending(final):
    """check_extraction for an extraction without `.complete`."""
    pending = os.path.join(final, PENDING)
    try:
        st = os.lstat(pending)
    except OSError:
        return "it is not finished (it has no .complete)"
    why = untrusted(st, stat.S_ISREG, "file")
    if why:
        return "its .pending: " + why
    try:
        with open(pending, "rb") as f:
            made_in = f.readline().strip().decode("ascii", "replace")
    except OSError as e:
        return "its .pending cannot be read (%s)" % (e.strerror or e)
    boot = boot_id()
    if boot is None or made_in != boot:
        return "it was not yet on disk when the machine restarted (it has no .complete)"
    return "ok"


def set_aside(root, final, why):
    """Move what is at `final` out of the way and remove it (what cannot be removed stays under
    a dot-name `envtool cache prune` removes later)."""
    sys.stderr.write("warning: not using %s: %s; extracting the pack again\n" % (final, why))
    aside = os.path.join(root, ".untrusted-" + os.urandom(8).hex())
    os.rename(final, aside)
    if check_extraction(aside) == "ok":
        # Another copy's extraction landed there in the meantime: put it back.
        try:
            os.rename(aside, final)
            return
        except OSError:
            pass
    shutil.rmtree(aside, ignore_errors=True)


class Untrusted(Exception):
    pass


def private_tmp(root, why):
    """A private temporary directory to extract into for this run, when the pack root cannot be
    used (`why`); fails with an error when there is none either."""
    try:
        tmp = tempfile.mkdtemp(prefix="envtool-pack-")
    except OSError as e:
        fail("cannot extract %s: the pack root %s cannot be used (%s), and no private temporary directory can be made (%s)" % (pack_path(), root, why, e), TRUST_HINT)
    if isinstance(why, Untrusted):
        sys.stderr.write("warning: not using the pack root %s: %s; extracting into %s for this run (%s)\n" % (root, why, tmp, TRUST_HINT))
    else:
        sys.stderr.write("warning: cannot extract into %s (%s); using %s for this run (%s)\n" % (root, why, tmp, TRUST_HINT))
    return tmp


def hold(directory):
    """A shared lock on directory/.lock, held while the returned file is open: `envtool cache
    prune` and `clean` never remove a staging directory whose lock is held. None where there
    are no locks."""
    try:
        import fcntl
    except ImportError:
        return None
    lock = open(os.path.join(directory, ".lock"), "a")
    try:
        fcntl.flock(lock.fileno(), fcntl.LOCK_SH)
    except OSError:
        lock.close()
        return None
    return lock


def release(lock):
    if lock is not None:
        lock.close()


def let_go(handed, staged):
    """Close the lock on `staged` handed over through exec (fd `handed`), once this process
    holds its own or needs none; an fd that is not that lock is left alone."""
    if not (handed and handed.isdigit() and staged):
        return
    try:
        have = os.fstat(int(handed))
        want = os.stat(os.path.join(staged, ".lock"))
    except OSError:
        return
    if (have.st_dev, have.st_ino) == (want.st_dev, want.st_ino):
        os.close(int(handed))


def new_staging(root, prefix=".extract-"):
    """A private staging directory in root, and its lock (held)."""
    staging = tempfile.mkdtemp(prefix=prefix, dir=root)
    try:
        return staging, hold(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


def sync_path(path):
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0))
    except OSError as e:
        if e.errno == errno.ELOOP:
            return  # a link: its directory entry is synced with the directory
        raise
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_SYNCFS = []


def syncfs_call():
    """Linux's syncfs through ctypes, or None where there is none. Looked up once, and by a
    standalone pack before its interpreter's standard library moves into the extraction
    (after the move, `import ctypes` would find nothing, and every file would be synced one
    by one: seconds on a first start)."""
    if not _SYNCFS:
        call = None
        if sys.platform.startswith("linux"):
            try:
                import ctypes

                call = ctypes.CDLL(None, use_errno=True).syncfs
            except (ImportError, OSError, AttributeError):
                pass
        _SYNCFS.append(call)
    return _SYNCFS[0]


def syncfs(path):
    """The whole file system of `path` written to disk at once (Linux's syncfs: one call for the
    thousands of files of a carried interpreter); False where there is no such call."""
    call = syncfs_call()
    if call is None:
        return False
    fd = os.open(path, os.O_RDONLY)
    try:
        return call(fd) == 0
    finally:
        os.close(fd)


def sync_tree(top):
    """Every file and directory below top on disk (what a crash must not lose once .complete
    says the extraction is whole)."""
    if syncfs(top):
        return
    for directory, _, files in os.walk(top):
        for name in files:
            sync_path(os.path.join(directory, name))
        sync_path(directory)


def write_marker(directory, name, text, durable):
    path = os.path.join(directory, name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        os.write(fd, text.encode())
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o644)


def finish(staging, root, final, ident, python):
    """Put a staged extraction in place: with `.pending` (this boot's id), then the rename, and
    a detached process makes it durable (see make_durable). Where boots cannot be told apart
    it is made durable first (files synced, then .complete written and synced, then the
    rename, the root synced after). Returns the extraction to use (another copy's when it
    finished first). `python` is the interpreter that runs the extraction."""
    boot = boot_id()
    if boot is None:
        sync_tree(staging)
        write_marker(staging, ".complete", ident + "\n", durable=True)
        sync_path(staging)
    else:
        write_marker(staging, PENDING, boot + "\n" + ident + "\n", durable=False)
    try:
        os.unlink(os.path.join(staging, ".lock"))  # still held through the open file
    except OSError:
        pass
    there = check_extraction(final)
    if there == "ok":
        return final  # another copy finished first: use its extraction
    if there is not None:
        set_aside(root, final, there)
    try:
        os.rename(staging, final)
    except OSError:
        if check_extraction(final) != "ok":
            raise
        return final
    if boot is None:
        sync_path(root)
    elif root == pack_root():
        # (An extraction into a private temporary directory lasts this run only: it is
        # removed at the end, and a later sync would race with that.)
        durable_later(final, ident, python)
    return final


def ensure_durable(final, ident, python):
    """An extraction in use that is still pending (its first start's sync was cut short, or
    is still running) is made durable in the background."""
    if not os.path.lexists(os.path.join(final, ".complete")):
        durable_later(final, ident, python)


# How long the detached process of a first start waits for the program to end before it syncs
# the extraction: a long-running program's extraction is made durable while it runs.
DURABLE_WAIT_SECONDS = 10.0

# The pack's zip (set by main, open while an extraction is looked up or made): the detached
# process runs this bootstrap's source, read from it only when one is started.
ARCHIVE = []


def own_source():
    """This bootstrap's source, or None where it cannot be read."""
    try:
        return ARCHIVE[0].read("__main__.py").decode("utf-8")
    except (IndexError, ValueError, OSError, KeyError, zipfile.BadZipFile):
        return None


def durable_later(final, ident, python):
    """make_durable in a detached process (two forks: nothing waits for it, and it keeps none
    of this process's files open), so the program starts without waiting for the disk. That
    process becomes a new `python -I -S -c BOOTSTRAP` at once: one that kept sharing this
    process's memory would make each page the program then writes a copy.
    Where it can watch this process (a pidfd: Linux 5.3, Python 3.9), it first waits for the
    program to end (DURABLE_WAIT_SECONDS at most), so the disk's work does not compete with
    the program's start. Until then the extraction is pending, which this boot uses as it is."""
    source = own_source()
    watch = own_pidfd()
    try:
        pid = os.fork()
    except OSError:
        close_quietly(watch)
        return make_durable(final, ident)
    if pid:
        close_quietly(watch)
        try:
            os.waitpid(pid, 0)
        except OSError:
            pass
        return
    try:
        if os.fork() == 0:
            os.setsid()
            os.chdir("/")
            if watch is not None and watch < 3:
                import fcntl

                watch = fcntl.fcntl(watch, fcntl.F_DUPFD_CLOEXEC, 3)
            null = os.open(os.devnull, os.O_RDWR)
            for fd in (0, 1, 2):
                os.dup2(null, fd)
            if watch is None:
                os.closerange(3, 65536)
            else:
                os.closerange(3, watch)
                os.closerange(watch + 1, 65536)
                os.set_inheritable(watch, True)
            args = [final, ident, "-" if watch is None else str(watch)]
            if source is not None:
                try:
                    os.execv(python, [python, "-I", "-S", "-c", source] + args)
                except OSError:
                    pass
            durable_helper(args)  # no interpreter to start: in this process
    except BaseException:
        pass
    os._exit(0)


def durable_helper(args):
    """The detached process of durable_later: args are the extraction, its id and the pidfd
    of the process to wait for ("-": none)."""
    if len(args) != 3:
        return
    final, ident, watch = args
    if watch.isdigit():
        wait_readable(int(watch), DURABLE_WAIT_SECONDS)
    make_durable(final, ident)


def own_pidfd():
    """A pidfd on this process (readable once it has ended), or None where there is none."""
    try:
        return os.pidfd_open(os.getpid())
    except (AttributeError, OSError):
        return None


def close_quietly(fd):
    if fd is not None:
        try:
            os.close(fd)
        except OSError:
            pass


def wait_readable(fd, seconds):
    """Wait until fd is readable (a pidfd: its process has ended), `seconds` at most."""
    import select

    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        poller.poll(int(seconds * 1000))
    except OSError:
        pass


def make_durable(final, ident):
    """Sync a pending extraction to disk, then write `.complete` (synced, and its directory
    entry): from then on it is trusted after a restart too. One process at a time (an
    exclusive lock on the extraction's directory); `.pending` stays, as the lock a pack
    started before `.complete` holds. Meanwhile this process holds a shared lock on `.pending`
    too, as a running pack does: `envtool cache prune` does not remove the extraction under
    it, and an extraction whose lock prune holds is being removed: left alone."""
    try:
        import fcntl
    except ImportError:
        fcntl = None
    try:
        fd = os.open(final, os.O_RDONLY)
    except OSError:
        return
    pending = None
    try:
        if fcntl is not None:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                return  # another process is at it
            try:
                pending = open(os.path.join(final, PENDING), "r")
                fcntl.flock(pending.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                return  # gone, or being removed
        if os.path.lexists(os.path.join(final, ".complete")) or not os.path.lexists(os.path.join(final, PENDING)):
            return
        sync_tree(final)
        write_marker(final, ".complete", ident + "\n", durable=True)
        sync_path(final)
    except OSError:
        pass  # tried again by the next start that finds it pending
    finally:
        if pending is not None:
            pending.close()
        os.close(fd)


def header_size(path):
    """The size the sh header says the file has (`n=SIZE`), or None."""
    try:
        with open(path, "rb") as f:
            head = f.read(16384)
    except OSError:
        return None
    at = head.find(b"\nn=")
    if at < 0:
        return None
    digits = head[at + 3 : at + 40].split()[0]
    return int(digits) if digits.isdigit() else None


def load_runner(archive):
    """The runner's functions (interpreter checks, messages), without running its main."""
    namespace = {"__name__": "envtool_pack_run", "__file__": ".envtool/run.py"}
    exec(compile(archive.read(".envtool/run.py"), ".envtool/run.py", "exec"), namespace)
    return namespace


def extraction_id(archive, key):
    digest = hashlib.sha256(b"envtool-pack-extraction-v1\0")
    for name in (".envtool/manifest.json", ".envtool/run.py", "__main__.py"):
        digest.update(archive.read(name) + b"\0")
    digest.update(key.encode("utf-8"))
    return digest.hexdigest()


def payload(archive, target):
    """(name in the extraction, zip entry) of the target's files, sorted by name: the shared
    site-packages/ and bin/ entries, and those under the target's own prefix."""
    prefix = target.get("prefix") or ""
    out = []
    for info in archive.infolist():
        name = info.filename
        if name.endswith("/"):
            continue
        if name.startswith(SHARED):
            out.append((name, info))
        elif prefix and name.startswith(prefix):
            out.append((name[len(prefix) :], info))
    out.sort(key=lambda item: item[0].encode("utf-8"))
    return out


_UMASK = []


def umask():
    """The process's umask (read by setting it back at once: the bootstrap runs no threads)."""
    if not _UMASK:
        _UMASK.append(os.umask(0o022))
        os.umask(_UMASK[0])
    return _UMASK[0]


def write_file(dest, data, executable, made):
    parent = os.path.dirname(dest)
    if parent not in made:
        os.makedirs(parent, exist_ok=True)
        made.add(parent)
    mode = 0o755 if executable else 0o644
    # The mode given at creation (a chmod per file only where the umask takes bits away).
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_CLOEXEC", 0), mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        if mode & umask():
            os.fchmod(fd, mode)
    finally:
        os.close(fd)


def write_runner_code(staging, final, made):
    """The runner compiled by this interpreter, as `.envtool/run.CACHE_TAG.code` (marshal), so
    a warm start loads it instead of compiling the runner again (2 ms or more). Its
    file name is the runner's path once in place, as if compiled there."""
    import marshal

    tag = sys.implementation.cache_tag
    if not tag:
        return
    with open(os.path.join(staging, ".envtool", "run.py"), "rb") as f:
        source = f.read()
    code = compile(source, os.path.join(final, ".envtool", "run.py"), "exec", dont_inherit=True)
    write_file(os.path.join(staging, ".envtool", "run.%s.code" % tag), marshal.dumps(code), False, made)


def extract(archive, manifest, target, root, ident):
    """Extract the target's wheel set into root/<ident>, atomically, checking the content
    hash on the way (one pass over the payload); returns the directory."""
    final = os.path.join(root, ident)
    if check_extraction(final) == "ok":
        ensure_durable(final, ident, sys.executable)
        return final
    staging, lock = new_staging(root)
    try:
        digest = hashlib.sha256()
        made = set()
        for name, info in payload(archive, target):
            data = archive.read(info)
            digest.update(name.encode("utf-8") + b"\0" + str(len(data)).encode() + b"\0" + data)
            mode = (info.external_attr >> 16) & 0o777
            write_file(os.path.join(staging, *name.split("/")), data, mode & 0o111, made)
        if digest.hexdigest() != target["content_hash"]:
            fail("%s is damaged: its contents do not match its content hash" % pack_path(), "get a fresh copy of the file")
        for info in archive.infolist():
            if info.filename.startswith(".envtool/"):
                write_file(os.path.join(staging, *info.filename.split("/")), archive.read(info), False, made)
        with open(os.path.join(staging, ".envtool", "target"), "w") as f:
            f.write(target["key"] + "\n")
        write_runner_code(staging, final, made)
        if manifest.get("compile"):
            import compileall

            compileall.compile_dir(os.path.join(staging, "site-packages"), quiet=2)
        return finish(staging, root, final, ident, sys.executable)
    finally:
        shutil.rmtree(staging, ignore_errors=True)  # gone already once in place
        release(lock)


def unpack_archives(archive, root):
    """Started by another Python: unpack the carried interpreter and the wheel set (as the sh
    header would) into a staging directory of root (None: of the temporary directory), and
    return it with its lock (held)."""
    import tarfile

    try:
        staging, lock = new_staging(root, ".extract-rt-")
    except OSError:
        if root is None:
            raise
        staging, lock = new_staging(None, "envtool-pack-rt-")
    try:
        for member in (RUNTIME, PAYLOAD):
            with archive.open(member) as stream:
                with tarfile.open(fileobj=stream, mode="r|gz") as tar:
                    if hasattr(tarfile, "fully_trusted_filter"):
                        tar.extractall(staging, filter="fully_trusted")
                    else:
                        tar.extractall(staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        release(lock)
        raise
    return staging, lock


def archive_hash(archive, member):
    """The sha256 of a stored archive in the pack (what the header unpacked)."""
    digest = hashlib.sha256()
    with archive.open(member) as stream:
        for block in iter(lambda: stream.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def archives_intact(archive, manifest):
    runtime = manifest["runtime"]
    return archive_hash(archive, RUNTIME) == runtime["sha256"] and archive_hash(archive, PAYLOAD) == runtime["payload_sha256"]


def extract_staged(archive, manifest, target, root, ident, staged):
    """A standalone pack: the header (or unpack_archives) unpacked the interpreter and the
    wheel set into `staged`; check both archives against their hashes (the wheel set's is made
    from the files whose content hash the id covers) and move both into root/<ident>. The
    caller removes `staged`."""
    final = os.path.join(root, ident)
    if check_extraction(final) == "ok":
        ensure_durable(final, ident, os.path.join(final, manifest["runtime"]["python"]))
        return final
    if not archives_intact(archive, manifest):
        shutil.rmtree(staged, ignore_errors=True)
        fail("%s is damaged: what it carries does not match its hash" % pack_path(), "get a fresh copy of the file")
    staging, lock = new_staging(root)
    try:
        made = set()
        for info in archive.infolist():
            if info.filename.startswith(".envtool/") and info.filename not in (RUNTIME, PAYLOAD):
                write_file(os.path.join(staging, *info.filename.split("/")), archive.read(info), False, made)
        with open(os.path.join(staging, ".envtool", "target"), "w") as f:
            f.write(target["key"] + "\n")
        write_runner_code(staging, final, made)
        syncfs_call()  # while the running interpreter's standard library is still where it started
        for name in ("python", "site-packages", "bin"):
            if os.path.exists(os.path.join(staged, name)):
                shutil.move(os.path.join(staged, name), os.path.join(staging, name))
        return finish(staging, root, final, ident, os.path.join(final, manifest["runtime"]["python"]))
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        release(lock)


def exec_runner(python, final, size):
    # The pack as invoked ("$0" of the header) stays the entry's sys.argv[0].
    argv = [python, "-I", "-S", os.path.join(final, ".envtool", "run.py"), sys.argv[0], size]
    os.execv(python, argv + sys.argv[1:])


def run_then_remove(python, final, size, directory):
    """Run the runner of an extraction made for this run only (in `directory`) as a child,
    then remove the directory, and exit as the child did."""
    import signal

    argv = [python, "-I", "-S", os.path.join(final, ".envtool", "run.py"), sys.argv[0], size]
    pid = os.fork()
    if pid == 0:
        try:
            os.execv(python, argv + sys.argv[1:])
        finally:
            os._exit(127)
    # Ctrl-C and Ctrl-\ reach the child too (one process group): outlive it to clean up.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGQUIT, signal.SIG_IGN)
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda sig, frame: os.kill(pid, sig))
    _, status = os.waitpid(pid, 0)
    shutil.rmtree(directory, ignore_errors=True)
    if os.WIFSIGNALED(status):
        signal.signal(os.WTERMSIG(status), signal.SIG_DFL)
        os.kill(os.getpid(), os.WTERMSIG(status))
    sys.exit(os.WEXITSTATUS(status) if os.WIFEXITED(status) else 1)


def standalone(archive, manifest, runner, path, size):
    """A pack carrying its interpreter: run with that one, whatever started this bootstrap."""
    runtime = manifest["runtime"]
    target = manifest["targets"][0]
    staged = os.environ.pop("ENVTOOL_PACK_RUNTIME", None)
    handed = os.environ.pop("ENVTOOL_PACK_LOCK_FD", None)
    root = pack_root()
    why = private_root(root)
    ident = extraction_id(archive, target["key"])
    final = os.path.join(root, ident)
    mine = staged and os.path.realpath(sys.executable) == os.path.realpath(os.path.join(staged, runtime["python"]))
    if why is None and check_extraction(final) == "ok":
        ensure_durable(final, ident, os.path.join(final, runtime["python"]))
        archive.close()
        if mine:
            let_go(handed, staged)
            shutil.rmtree(staged, ignore_errors=True)
        exec_runner(os.path.join(final, runtime["python"]), final, size)
    if not mine:
        # Not the carried interpreter (another Python started the pack): unpack it and let
        # it do the rest (checked first: it is about to run).
        if not archives_intact(archive, manifest):
            fail("%s is damaged: what it carries does not match its hash" % path, "get a fresh copy of the file")
        try:
            staged, lock = unpack_archives(archive, root if why is None else None)
        except (OSError, EOFError, zlib.error) as e:
            fail("cannot unpack the interpreter %s carries (%s)" % (path, e), "check that there is room in %s, or %s" % (root, TRUST_HINT))
        archive.close()
        os.environ["ENVTOOL_PACK_RUNTIME"] = staged
        if lock is not None:
            # The lock stays held through the exec until the carried interpreter holds its own.
            os.set_inheritable(lock.fileno(), True)
            os.environ["ENVTOOL_PACK_LOCK_FD"] = str(lock.fileno())
        python = os.path.join(staged, runtime["python"])
        os.execv(python, [python, "-I", "-S"] + sys.argv)
    # The interpreter runs (the header checked the file's size, tar the gzip streams' CRCs);
    # both archives are checked against their hashes before anything moves into place.
    lock = hold(staged)
    let_go(handed, staged)
    fallback = None
    try:
        try:
            if why is not None:
                raise Untrusted(why)
            final = extract_staged(archive, manifest, target, root, ident, staged)
        except (OSError, Untrusted) as e:
            fallback = private_tmp(root, e)
            try:
                if not os.path.isdir(os.path.join(staged, "python")):
                    # The failed attempt took it: unpack it again.
                    shutil.rmtree(staged, ignore_errors=True)
                    release(lock)
                    staged, lock = unpack_archives(archive, None)
                final = extract_staged(archive, manifest, target, fallback, ident, staged)
            except BaseException:
                shutil.rmtree(fallback, ignore_errors=True)
                raise
    finally:
        shutil.rmtree(staged, ignore_errors=True)
        release(lock)
    archive.close()
    python = os.path.join(final, runtime["python"])
    if fallback:
        run_then_remove(python, final, size, fallback)
    # The interpreter running this moved into the extraction: start again from there.
    exec_runner(python, final, size)


def main():
    path = pack_path()
    try:
        archive = zipfile.ZipFile(path)
        ARCHIVE.append(archive)
        manifest = json.loads(archive.read(".envtool/manifest.json").decode("utf-8"))
        runner = load_runner(archive)
    except Exception as e:  # a damaged file: say so, without a traceback
        fail("%s is not a readable envtool pack (%s)" % (path, e), "get a fresh copy of the file")
    built = header_size(path)
    size = "-" if built is None else str(built)
    runner["check_size"](path, size)
    damaged = (zipfile.BadZipFile, zlib.error, EOFError, KeyError)
    if manifest.get("runtime"):
        try:
            standalone(archive, manifest, runner, path, size)
        except damaged as e:
            fail("%s is damaged (%s)" % (path, e), "get a fresh copy of the file")
    target = runner["choose"](manifest)
    if target is None:
        runner["wrong_interpreter"](manifest, path)
    root = pack_root()
    why = private_root(root)
    ident = extraction_id(archive, target["key"])
    final = os.path.join(root, ident)
    fallback = None
    if why is None and check_extraction(final) == "ok":
        ensure_durable(final, ident, sys.executable)
    else:
        try:
            try:
                if why is not None:
                    raise Untrusted(why)
                final = extract(archive, manifest, target, root, ident)
            except (OSError, Untrusted) as e:
                fallback = private_tmp(root, e)
                # Removed after the run (run_then_remove below), and by this exit handler
                # when this process ends before it (a damaged pack, say).
                import atexit

                atexit.register(shutil.rmtree, fallback, True)
                final = extract(archive, manifest, target, fallback, ident)
        except damaged as e:
            fail("%s is damaged (%s)" % (path, e), "get a fresh copy of the file")
    archive.close()
    if fallback is not None:
        # The extraction made for this run is removed after it, whatever the entry (the runner
        # execs a command that is not Python, and then no exit handler here would run).
        run_then_remove(sys.executable, final, size, fallback)
    run = os.path.join(final, ".envtool", "run.py")
    # Run the extracted runner in this process (already isolated, -I -S): the zip leaves
    # sys.path, and sys.argv[0] is the pack as invoked, as the sh header passes "$0".
    import runpy

    sys.path[:] = [p for p in sys.path if os.path.abspath(p) != path]
    sys.argv = [run, sys.argv[0], size] + sys.argv[1:]
    runpy.run_path(run, run_name="__main__")


if sys.argv[0] == "-c":
    durable_helper(sys.argv[1:])  # started by durable_later as `python -I -S -c BOOTSTRAP ...`
else:
    main()
