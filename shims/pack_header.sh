#!/bin/sh
# envtool pack: a Python zip application (PEP 441) behind this short sh header.
# Warm starts run the already-extracted copy directly; `python3 THIS-FILE` also works.
h=__HASH__
r="${ENVTOOL_PACK_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/envtool/pack-v1}"
if [ -f "$r/$h/.complete" ]; then
    exec __PYTHON__ -I -S "$r/$h/.envtool/run.py" "$0" "$@"
fi
if [ "$(wc -c < "$0")" -ne __SIZE__ ]; then
    echo "error: $0 is damaged: its size is not the size it was built with" >&2
    echo "hint: get a fresh copy of the file (it was truncated or changed)" >&2
    exit 1
fi
exec __PYTHON__ -I -S "$0" "$@"
