"""``python -m app [WORKSPACE]``: open the IDE on a workspace.

Until the IDE lands (issue 3) this runs the example flow tree headless, so the README's
"set up and open" command already shows the engine working."""

import sys

from engine_core.cli import main

if __name__ == "__main__":
    workspace = sys.argv[1] if len(sys.argv) > 1 else "."
    sys.exit(main(["run", "Main Process", "--workspace", workspace]))
