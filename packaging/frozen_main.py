"""Entry point of the frozen (PyInstaller) Flowdesk: ``dist/flowdesk/flowdesk``.

In the frozen app there is no Python interpreter beside the program: ``sys.executable`` is
this executable. So it also plays the interpreter for the helper processes that the
libraries start with ``sys.executable``:

- multiprocessing starts its forkserver (the workers' parent) and its resource tracker as
  ``flowdesk -c 'from multiprocessing.forkserver import main; ...'``; PyInstaller's
  ``multiprocessing.freeze_support()`` recognises those and runs them;
- debugpy starts its debug adapter as ``flowdesk .../debugpy/adapter --for-server PORT ...``
  (a directory with a ``__main__.py``), and the benchmark runs a driver script the same way;
- ``flowdesk -c CODE`` and ``flowdesk -m MODULE`` work as with ``python``: ``flowdesk -m pip``
  installs a workspace's requirements (pip is bundled as files, packaging/bundle_contents.py).

pip installs wheels in-process; only building a package from source (an sdist) runs
``sys.executable`` with pip's own scripts, in a build environment this app cannot provide
(pip passes it by PYTHONPATH, which the frozen app does not honour; no build backend such as
setuptools, no C headers): that is refused with a message saying so, which pip shows.

Everything else is the ``flowdesk`` command (``app.launcher.main``). A workspace folder is
never mistaken for a script: only a ``.py`` file or a folder with a ``__main__.py`` is run."""

from __future__ import annotations

import multiprocessing
import os
import runpy
import sys

# Single-letter interpreter options (as in `python -u -B ...`) that a library may put before
# a script; they are accepted and ignored here, since the frozen interpreter is configured
# at build time. -X and -W take a value.
_FLAG_LETTERS = set("bBdEiIOqsSuv")
_FLAGS_WITH_VALUE = ("-X", "-W")


def _strip_interpreter_flags(argv: list[str]) -> list[str]:
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg in _FLAGS_WITH_VALUE:
            i += 2
        elif arg.startswith(_FLAGS_WITH_VALUE):
            i += 1
        elif len(arg) >= 2 and arg[0] == "-" and arg[1] != "-" and set(arg[1:]) <= _FLAG_LETTERS:
            i += 1
        else:
            break
    return argv[i:]


def _is_runnable_path(arg: str) -> bool:
    if arg.endswith(".py") and os.path.isfile(arg):
        return True
    return os.path.isdir(arg) and os.path.isfile(os.path.join(arg, "__main__.py"))


# Worded like pip's own errors: pip shows a failed build step's output, and Flowdesk's
# install message quotes the lines that start with "ERROR:" (engine_core/packages/pip_errors.py).
SOURCE_BUILD_REFUSED = (
    "ERROR: the Flowdesk app installs wheels only and cannot build a package from source (a source "
    "distribution, .tar.gz or .zip): use a version of the package that publishes a wheel for this "
    "platform, or put its wheel (.whl) into a --find-links folder")


def _is_pip_build_step(path: str) -> bool:
    """pip runs two kinds of scripts of its own, both only to build a source distribution:
    ``pip/__pip-runner__.py install --prefix ...`` for the build dependencies and
    pyproject_hooks' ``_in_process.py`` for the build backend."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is None:
        return False
    pip_folder = os.path.join(os.path.realpath(bundle), "pip") + os.sep
    return os.path.realpath(path).startswith(pip_folder)


def _run_as_interpreter(argv: list[str]) -> int | None:
    """Run ``-c CODE`` / ``-m MODULE`` / a script path like ``python`` would; None when
    ``argv`` is a Flowdesk command instead."""
    args = _strip_interpreter_flags(argv)
    if not args:
        return None
    if args[0] == "-c" and len(args) >= 2:
        sys.argv = ["-c", *args[2:]]
        exec(compile(args[1], "<string>", "exec"), {"__name__": "__main__", "__builtins__": __builtins__})
        return 0
    if args[0] == "-m" and len(args) >= 2:
        sys.argv = [args[1], *args[2:]]
        runpy.run_module(args[1], run_name="__main__", alter_sys=True)
        return 0
    if _is_runnable_path(args[0]):
        if _is_pip_build_step(args[0]):
            print(SOURCE_BUILD_REFUSED, file=sys.stderr)
            return 1
        path = os.path.abspath(args[0])
        sys.argv = [path, *args[1:]]
        # As `python SCRIPT` does: the script's folder (or the run folder itself) comes first
        # on sys.path. runpy adds a folder itself; a file's folder is added here.
        if os.path.isfile(path):
            sys.path.insert(0, os.path.dirname(path))
        runpy.run_path(path, run_name="__main__")
        return 0
    return None


def main() -> int:
    # Must come first: a forkserver, resource tracker or spawned child ends inside this call.
    multiprocessing.freeze_support()
    argv = sys.argv[1:]
    code = _run_as_interpreter(argv)
    if code is not None:
        return code
    from app.launcher import main as flowdesk_main

    return flowdesk_main(argv)


if __name__ == "__main__":
    sys.exit(main())
