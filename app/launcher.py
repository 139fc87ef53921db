"""The ``flowdesk`` command: with no command (or ``ide [DIR]``) it opens the IDE; every other
command is the engine's CLI. Lives in ``app`` so that ``engine_core`` never imports Qt.

Only the IDE path imports Qt, and only after :mod:`app.platform_check` has found that Qt can
open a window here: ``--version``, ``--help`` and the CLI commands work without a display and
start fast. This module is also imported by every worker's forkserver (multiprocessing runs the
``flowdesk`` script there as ``__mp_main__``): keep its top-level imports to the standard
library's cheapest."""

from __future__ import annotations

import sys
from typing import NoReturn


def main(argv: list[str] | None = None) -> int:
    """The process's entry point. A CLI command ends the process itself when it is done (see
    :func:`end_process`); the IDE returns its exit code."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv:
        return open_ide(None)
    if argv in (["--version"], ["-V"]):  # without building the parser
        from engine_core import version

        print(f"flowdesk {version()}")
        return 0
    from engine_core.cli import Command, requested_command
    from engine_core.cli import main as cli_main

    code = cli_main(argv, extra={"ide": Command(_add_ide_parser, lambda args: open_ide(args.dir))})
    if requested_command(argv) == "ide":
        return code
    end_process(code)


def end_process(code: int) -> NoReturn:
    """End a CLI command's process at once. Its work is done (the engine closed, every change
    committed, the database released): what is left is the interpreter's teardown, which frees
    SQLAlchemy's and the engine's objects module by module and took longer than everything
    after the imports of a ``flowdesk run`` (~0.3 s on this loaded 2-core machine; 15 ms with
    this). The atexit handlers (multiprocessing's, logging's) still run, and the output is
    flushed. Not for the IDE, where Qt's objects have their own order of teardown."""
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (| head): nothing more can be said
            pass
    os._exit(code)


def _add_ide_parser(sub) -> None:
    parser = sub.add_parser("ide", help="open the IDE (also what 'flowdesk' with no command does)")
    parser.add_argument("dir", nargs="?", metavar="DIR",
                        help="workspace folder to open (default: the last one, or the examples on a first start)")


def open_ide(workspace: str | None) -> int:
    """Check that Qt can show a window here, then run the IDE; exit code 2 with a message
    saying what to do when it cannot (instead of Qt's abort)."""
    from .platform_check import EXIT_NO_PLATFORM, check

    problem = check()
    if problem:
        print(problem, file=sys.stderr)
        return EXIT_NO_PLATFORM
    from .application import run_ide

    return run_ide(workspace)


def module_main(argv: list[str]) -> int:
    """``python -m app [DIR]``: the IDE, as ``flowdesk ide [DIR]``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m app", description="Open the Flowdesk IDE.")
    parser.add_argument("--version", "-V", action="store_true", help="print the version and exit")
    parser.add_argument("dir", nargs="?", metavar="DIR", help="workspace folder to open (default: the last one)")
    args = parser.parse_args(argv)
    if args.version:
        from engine_core import version

        print(f"flowdesk {version()}")
        return 0
    return open_ide(args.dir)


if __name__ == "__main__":
    sys.exit(main())
