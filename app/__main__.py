"""``python -m app [DIR]``: open the IDE (on the last workspace when none is given), after the
same check as ``flowdesk`` that Qt can open a window here."""

import sys

from .launcher import module_main

if __name__ == "__main__":
    sys.exit(module_main(sys.argv[1:]))
