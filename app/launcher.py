"""The ``flowdesk`` command: with no command (or ``ide [DIR]``) it opens the IDE; every other
command is the engine's CLI. Lives in ``app`` so that ``engine_core`` never imports Qt.

Only the IDE path imports Qt, and only after :mod:`app.platform_check` has found that Qt can
open a window here: ``--version``, ``--help`` and the CLI commands work without a display and
start fast. This module is also imported by every worker's forkserver (multiprocessing runs the
``flowdesk`` script there as ``__mp_main__``): keep its top-level imports to the standard
library's cheapest."""

from __future__ import annotations

import sys


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
    from engine_core.warm import client as warm

    # engine_core.cli.requested_command, written out: importing the CLI costs ~37 ms, which a
    # command handed to the warm process never needs.
    command = next((arg for arg in argv if not arg.startswith("-")), None)
    # --help lists `ide`, which only this process knows of: help is not worth handing over.
    warm_command = command in warm.WARM_COMMANDS and not {"-h", "--help"} & set(argv) and warm.enabled()
    if warm_command:
        code = warm.run(argv)
        if code is not None:
            return code
    from engine_core.cli import Command, end_process
    from engine_core.cli import main as cli_main

    code = cli_main(argv, extra={"ide": Command(_add_ide_parser, lambda args: open_ide(args.dir))})
    if command == "ide":
        return code
    if warm_command:  # none was there to take this one: the next command will find one
        warm.start_server()
    end_process(code)


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
