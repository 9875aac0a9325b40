# envtool pack: a warm start, run by its sh header as
# `python -I -S -c THIS EXTRACTION PACK SIZE ARGS...` once the header has seen that the pack
# root, the extraction and its .complete are this user's (a standalone pack's header, whose
# interpreter is in the extraction, has also seen that nobody else can write them). Nothing
# from the extraction runs before it is known that nobody else can write them either; then
# its runner runs as __main__, as `python -I -S EXTRACTION/.envtool/run.py PACK SIZE ARGS...`
# would run it (from the code the first start compiled for this Python, when there is one).
# Otherwise the pack starts as on a first start, which extracts afresh.
import os, sys


def _envtool_warm():
    here, pack, size = sys.argv[1:4]
    try:
        for path in (os.path.dirname(here), here, here + "/.complete"):
            st = os.stat(path)
            if st.st_uid != os.geteuid() or st.st_mode & 0o022:
                raise OSError("not trusted")
    except OSError:
        try:
            damaged = os.stat(pack).st_size != int(size)
        except OSError:
            damaged = False
        if damaged:
            sys.stderr.write(
                "error: %s is damaged: its size is not the size it was built with\n"
                "hint: get a fresh copy of the file (it was truncated or changed)\n" % pack
            )
            sys.exit(1)
        os.execv(sys.executable, [sys.executable, "-I", "-S", pack] + sys.argv[4:])
    runner = here + "/.envtool/run.py"
    sys.argv[:2] = [runner]
    # The runner as the first start compiled it for this Python (marshal), else its source.
    try:
        import marshal

        with open("%s/.envtool/run.%s.code" % (here, sys.implementation.cache_tag), "rb") as f:
            code = marshal.loads(f.read())
        if type(code) is type(_envtool_warm.__code__) and code.co_filename == runner:
            return runner, code
    except (OSError, ValueError, EOFError, TypeError):
        pass
    with open(runner, "rb") as f:
        return runner, compile(f.read(), runner, "exec")


__file__, _envtool_code = _envtool_warm()
del _envtool_warm
exec(_envtool_code)
