"""``python -m app [WORKSPACE]``: open the IDE (on the last workspace when none is given)."""

import sys

from .application import run_ide

if __name__ == "__main__":
    sys.exit(run_ide(sys.argv[1] if len(sys.argv) > 1 else None))
