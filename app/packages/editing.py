"""``requirements.txt`` in an editor tab: the Packages panel's "Edit requirements.txt" button and
a double-click on one of its rows open it (created with a short comment when missing).

The tab is an ordinary file tab of ``EditorTabs`` (``open_file(..., root=True)``, a
``documents.OpenRootFile``) rather than a page of this package: a page has no save, dirty marker
or unsaved-changes prompt, and the file tab already has all of them, plain text (no linting, no
Python highlighting for a ``.txt``), the atomic save of Ctrl+S, the Git reload after a pull and
the session's restore (through ``tabs.root_file_opener``). After a save the panel's watcher sees
the new file and offers to install, as for an edit made anywhere else.

Reading and creating the file happen off the GUI thread, as for the files of ``files/``."""

from __future__ import annotations

from pathlib import Path

import shiboken6
from PySide6.QtWidgets import QMainWindow

from engine_core import packages

from ..tasks import run_in_background

TEMPLATE = ("# Python packages the flows of this workspace import, in pip's format, one per line\n"
            "# (e.g. PyYAML>=6); Flowdesk installs them into .flowdesk/packages\n")


def read_or_create(root: Path, create: bool) -> str | None:
    """On a pool thread: the file's text; a missing file is created from TEMPLATE (``create``) or
    None. Created exclusively: a file written meanwhile by someone else is read, never replaced."""
    path = packages.requirements_path(root)
    if create:
        try:
            with open(path, "x", encoding="utf-8", newline="") as new:
                new.write(TEMPLATE)
        except FileExistsError:
            pass
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    return data.decode("utf-8")  # not UTF-8: a UnicodeDecodeError, shown as an error


class RequirementsEditing:
    """Opens the workspace's ``requirements.txt`` in the window's editor tabs."""

    def __init__(self, window: QMainWindow) -> None:
        self.window = window
        window.tabs.root_file_opener = self._restore

    def open(self, current: bool = True, create: bool = True, row=None) -> None:
        """Show the file's tab (made current unless ``current`` is False, as for a tab restored
        behind another), at the line of ``row`` (of the Packages table) when given; an open tab
        keeps its unsaved edits."""
        tabs, workspace = self.window.tabs, self.window.workspace
        if workspace is None:
            return
        name = packages.REQUIREMENTS
        existing = tabs.file_editor(name, root=True)
        if existing is not None:
            if current:
                self._show(tabs.open_file(name, existing.text(), root=True), row)
            return
        run_in_background(read_or_create, workspace.root, create,
                          on_done=lambda text: self._read(workspace, text, current, row),
                          on_error=lambda message: self._alive() and self.window.show_error(
                              f"Cannot open {name}: {message}"))

    def _alive(self) -> bool:
        return shiboken6.isValid(self.window) and shiboken6.isValid(self.window.tabs)

    def _read(self, workspace, text: str | None, current: bool, row) -> None:
        if text is None or not self._alive() or workspace != self.window.workspace:
            return  # gone, or the user opened another workspace meanwhile
        editor = self.window.tabs.open_file(packages.REQUIREMENTS, text, current, root=True)
        if current:
            self._show(editor, row)

    @staticmethod
    def _show(editor, row) -> None:
        line = line_of(editor.text(), row) if row is not None else None
        if line is not None:
            editor.go_to_line(line)

    def _restore(self, name: str, current: bool) -> None:
        if name == packages.REQUIREMENTS:  # never recreated: the user may have deleted it
            self.open(current, create=False)


def line_of(text: str, row) -> int | None:
    """The line (1-based) of ``text`` a row of the Packages table comes from: an error row names it
    ("line 3"), a requirement is the first line starting with its name."""
    if row.state == "error" and row.name.startswith("line "):
        return int(row.name.split()[1])
    wanted = row.name.lower().replace("_", "-")
    for number, line in enumerate(text.splitlines(), 1):
        if line.strip().lower().replace("_", "-").startswith(wanted):
            return number
    return None
