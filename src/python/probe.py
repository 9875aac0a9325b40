# envtool's interpreter probe: prints one JSON object describing this interpreter.
# It runs once per interpreter (the answer is cached by path, size and mtime), and must
# stay valid Python 2.7 up to the version check so that old interpreters are named, not crashed on.
import json
import os
import sys

if sys.version_info < (3, 8):
    sys.stdout.write(json.dumps({
        "too_old": True,
        "version": list(sys.version_info[:3]),
        "executable": os.path.realpath(sys.executable),
    }))
    sys.exit(0)

import platform
import struct
import sysconfig


def real_executable():
    exe = getattr(sys, "_base_executable", None) or sys.executable
    return os.path.realpath(exe)


def venv_scheme():
    base = "/envtool-base"
    scheme = "venv" if "venv" in sysconfig.get_scheme_names() else "posix_prefix"
    paths = sysconfig.get_paths(
        scheme,
        vars={"base": base, "platbase": base, "installed_base": base, "installed_platbase": base},
    )
    return {key: os.path.relpath(value, base) for key, value in paths.items()}


def libc():
    try:
        value = os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, OSError, ValueError):
        value = None
    if value and value.startswith("glibc "):
        return {"name": "glibc", "version": value.split()[1]}
    return None


def pip_default_index():
    try:
        from pip._internal.models.index import PyPI
        return PyPI.simple_url
    except Exception:
        return None


def implementation_version():
    info = sys.implementation.version
    version = "{0.major}.{0.minor}.{0.micro}".format(info)
    if info.releaselevel != "final":
        version += info.releaselevel[0] + str(info.serial)
    return version


facts = {
    "too_old": False,
    "version": list(sys.version_info[:3]),
    "version_full": platform.python_version(),
    "implementation": sys.implementation.name,
    "executable": real_executable(),
    "base_prefix": sys.base_prefix,
    "base_exec_prefix": sys.base_exec_prefix,
    "in_venv": sys.prefix != sys.base_prefix,
    "platform": sysconfig.get_platform(),
    "pointer_bits": struct.calcsize("P") * 8,
    "soabi": sysconfig.get_config_var("SOABI"),
    "gil_disabled": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
    "debug": hasattr(sys, "gettotalrefcount"),
    "libc": libc(),
    "scheme": venv_scheme(),
    "pip_index_url": pip_default_index(),
    "markers": {
        "implementation_name": sys.implementation.name,
        "implementation_version": implementation_version(),
        "os_name": os.name,
        "platform_machine": platform.machine(),
        "platform_python_implementation": platform.python_implementation(),
        "platform_release": platform.release(),
        "platform_system": platform.system(),
        "platform_version": platform.version(),
        "python_full_version": platform.python_version(),
        "python_version": ".".join(platform.python_version_tuple()[:2]),
        "sys_platform": sys.platform,
    },
}
sys.stdout.write(json.dumps(facts))
