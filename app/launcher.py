"""The ``flowdesk`` command: with no command (or ``ide [DIR]``) it opens the IDE; every other
command is the engine's CLI. Lives in ``app`` so that ``engine_core`` never imports Qt."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] == "ide":
        from .application import run_ide

        return run_ide(argv[1] if len(argv) > 1 else None)
    from engine_core.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
