"""envtool's PEP 517 hook runner.

Runs one build-backend hook inside an isolated build environment and writes its result
as JSON to a file (backends print freely to stdout, so stdout cannot carry the answer).

    python pep517_hook.py HOOK INPUT_JSON OUTPUT_JSON

INPUT_JSON holds {"build_backend": "module[:object]", "backend_path": [...], "kwargs": {...}}.
OUTPUT_JSON receives {"result": ...} or {"missing_hook": true} or {"error": "...", "backend_missing": bool}.
The working directory is the project's source tree.
"""
import importlib
import json
import os
import sys
import traceback


def load_backend(spec, backend_path):
    # In-tree backends (PEP 517 backend-path) come first on sys.path.
    for entry in reversed(backend_path):
        sys.path.insert(0, os.path.abspath(entry))
    module_name, _, object_path = spec.partition(":")
    module = importlib.import_module(module_name)
    backend = module
    for attr in filter(None, object_path.split(".")):
        backend = getattr(backend, attr)
    return backend


def main():
    hook_name, input_path, output_path = sys.argv[1:4]
    with open(input_path, encoding="utf-8") as f:
        request = json.load(f)
    try:
        backend = load_backend(request["build_backend"], request.get("backend_path", []))
    except ImportError as e:
        traceback.print_exc()
        answer = {"error": str(e), "backend_missing": True}
    else:
        hook = getattr(backend, hook_name, None)
        if hook is None:
            answer = {"missing_hook": True}
        else:
            try:
                answer = {"result": hook(**request.get("kwargs", {}))}
            except Exception as e:  # the backend's own failure: report it, with its traceback on stderr
                traceback.print_exc()
                answer = {"error": "%s: %s" % (type(e).__name__, e), "backend_missing": False}
    with open(output_path, "w", encoding="utf-8") as f:
        json.dump(answer, f)


if __name__ == "__main__":
    main()
