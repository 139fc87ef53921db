"""What the window shows when Flowdesk starts: the workspace asked for or the last one, or on
the very first start a copy of the example workspace. A workspace the IDE has no remembered
tabs for opens with *Main Process* in the editor and the Welcome page beside it."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .icons import resources_dir
from .welcome import EXAMPLE_FLOW as FIRST_FLOW, show_welcome

if TYPE_CHECKING:
    from .main_window import MainWindow


def example_workspace() -> Path | None:
    """A copy of the bundled example workspace that the user may edit freely (the same place
    ``packaging/bootstrap.py ide`` uses: ``FLOWDESK_EXAMPLES`` or ``~/flowdesk-examples``).
    None when the app carries no examples."""
    target = Path(os.environ.get("FLOWDESK_EXAMPLES") or Path.home() / "flowdesk-examples")
    source = resources_dir() / "examples"
    if not target.exists():
        if not (source / "flows").is_dir():
            return None
        shutil.copytree(source, target, ignore=shutil.ignore_patterns(".flowdesk", "__pycache__"))
    return target


def open_start_workspace(window: "MainWindow", requested: str | None = None) -> bool:
    """Open ``requested``, else the last workspace, else the examples; greet the user in a
    workspace the session knows nothing of. False when nothing could be opened."""
    target = requested or window.session.last_workspace()
    if not target:
        examples = example_workspace()
        target = str(examples) if examples else None
    if not target:
        return False
    fresh = not window.session.knows_workspace(str(Path(target).expanduser().resolve()))
    if not window.open_workspace(target):
        return False
    if fresh:
        greet(window)
    return True


def greet(window: "MainWindow") -> None:
    """*Main Process* (or the first flow) in the editor, the Welcome page in front of it."""
    names = window.workspace.flow_names()
    first = FIRST_FLOW if FIRST_FLOW in names else (names[0] if names else None)
    if first is not None:
        window.open_flow(first)
    show_welcome(window)
    window.executions_dock.show()
    window.executions_dock.raise_()
