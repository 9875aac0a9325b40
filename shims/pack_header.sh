#!/bin/sh
# envtool pack: a Python zip application (PEP 441) behind this short sh header.
# Warm starts run the already-extracted copy directly; `python3 THIS-FILE` also works.
r="${ENVTOOL_PACK_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/envtool/pack-v1}"
case $r in /*) ;; *) r=${PWD:-$(pwd)}/$r ;; esac
n=__SIZE__
p= h= c=
# look NAME: NAME as envtool's discovery finds it, without running anything: on PATH (a pyenv
# shim seen through to the real binary of an installed version), then under pyenv's
# versions, then in /usr/local/bin and /usr/bin.
look() {
    c=
    o=$IFS
    IFS=:
    set -f
    for d in $PATH; do
        [ -n "$d" ] || d=.
        [ -f "$d/$1" ] && [ -x "$d/$1" ] || continue
        case "$d" in
        */shims) set +f
            for v in "${d%/shims}"/versions/*/bin/"$1"; do [ -x "$v" ] && c=$v; done
            set -f
            [ -n "$c" ] && break ;;
        *) c=$d/$1; break ;;
        esac
    done
    set +f
    IFS=$o
    if [ -z "$c" ]; then
        for v in "${PYENV_ROOT:-$HOME/.pyenv}"/versions/*/bin/"$1" /usr/local/bin/"$1" /usr/bin/"$1"; do
            [ -x "$v" ] && { c=$v; break; }
        done
    fi
    [ -n "$c" ]
}
# at PATH ID: the interpreter the pack was built with; on NAME ID: one found by name.
at() { [ -z "$p" ] && [ -x "$1" ] && p=$1 h=$2; return 0; }
on() { [ -z "$p" ] && look "$1" && p=$c h=$2; return 0; }
# mine PATH...: each is this user's and nobody else can write it (a linked pack root is judged
# by what it points to). What another user could have planted is never run.
mine() {
    m=
    for f; do
        [ -O "$f" ] || return 1
        m=$m${m:+
}$f
    done
    [ "$(find -H "$@" -prune ! -perm -020 ! -perm -002 -print 2>/dev/null)" = "$m" ]
}
__FIND__
if [ -n "$h" ] && [ -f "$r/$h/.complete" ] && [ ! -h "$r/$h" ] && [ ! -h "$r/$h/.complete" ] &&
    [ -O "$r" ] && [ -O "$r/$h" ] && [ -O "$r/$h/.complete" ]; then
__WARM__
fi
if [ "$(wc -c < "$0")" -ne "$n" ]; then
    echo "error: $0 is damaged: its size is not the size it was built with" >&2
    echo "hint: get a fresh copy of the file (it was truncated or changed)" >&2
    exit 1
fi
__COLD__
run -I -S "$0" "$@"
exit 1
