"""Regenerate the tag fixtures for interpreters this machine does not have.

The host fixtures (tags-cp38.txt, tags-cp311.txt, tags-cp313.txt) are plain
`packaging.tags.sys_tags()` output of the real pyenv interpreters. The others are built
here from packaging's own building blocks with the platform facts patched in, composed
the way `sys_tags()` composes them. Run with packaging 24.1 importable as `packaging`
(pip 24.x vendors it), from this directory:

    PYTHONPATH=/path/with/packaging python3 gen_tags.py
"""

from packaging import _manylinux, _musllinux, tags


def linux_platforms(platform, is_32bit, glibc=None, musl=None):
    tags.sysconfig.get_platform = lambda: platform
    _manylinux._have_compatible_abi = lambda executable, archs: True
    _manylinux._get_glibc_version = lambda: glibc or (-1, -1)
    _musllinux._get_musl_version = lambda executable: (
        _musllinux._MuslVersion(*musl) if musl else None
    )
    return list(tags._linux_platforms(is_32bit))


def cpython(version, platforms, debug=False, gil_disabled=False):
    config = {"Py_DEBUG": debug, "Py_GIL_DISABLED": gil_disabled}
    tags._get_config_var = lambda name, warn=False: config.get(name)
    abis = tags._cpython_abis(version)
    interpreter = "cp" + tags._version_nodot(version)
    out = list(tags.cpython_tags(version, abis, platforms))
    out += tags.compatible_tags(version, interpreter, platforms)
    return out


def pypy(version, ext_suffix, platforms):
    config = {"EXT_SUFFIX": ext_suffix}
    tags._get_config_var = lambda name, warn=False: config.get(name)
    interpreter = "pp" + tags._version_nodot(version)
    out = list(tags.generic_tags(interpreter, tags._generic_abi(), platforms))
    out += tags.compatible_tags(version, "pp3", platforms)
    return out


def write(name, tag_list):
    with open(name, "w") as f:
        f.write("".join(str(t) + "\n" for t in tag_list))


write(
    "tags-cp313t-aarch64-musl.txt",
    cpython((3, 13), linux_platforms("linux-aarch64", False, musl=(1, 2)), gil_disabled=True),
)
write(
    "tags-cp312d-i686.txt",
    cpython((3, 12), linux_platforms("linux-x86_64", True, glibc=(2, 17)), debug=True),
)
write(
    "tags-cp310-armv8l.txt",
    cpython((3, 10), linux_platforms("linux-aarch64", True, glibc=(2, 31))),
)
write(
    "tags-pp310.txt",
    pypy(
        (3, 10),
        ".pypy310-pp73-x86_64-linux-gnu.so",
        linux_platforms("linux-x86_64", False, glibc=(2, 28)),
    ),
)
write(
    "tags-cp312-macos14-arm64.txt",
    cpython((3, 12), list(tags.mac_platforms((14, 0), "arm64"))),
)
write(
    "tags-cp39-macos10.15-x86_64.txt",
    cpython((3, 9), list(tags.mac_platforms((10, 15), "x86_64"))),
)
write("tags-cp312-win_amd64.txt", cpython((3, 12), ["win_amd64"]))
