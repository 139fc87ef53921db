"""The Git panel's diffs as tabs of the editor area: one tab per changed file (key
``diff:<path>``, titled "<name> (changes)"); opening it again raises and refreshes the same
tab, and every status refresh of the panel (after a save, commit, revert, pull…) compares
each open diff again, so a tab never shows a stale diff: a committed file says "No changes"."""

from __future__ import annotations

from pathlib import Path

from engine_core.vcs.gitcmd import is_repository
from engine_core.vcs.status import StatusSnapshot

from .diff_page import COMPARED, DiffPage

KEY_PREFIX = "diff:"


def tab_title(path: str) -> str:
    return f"{Path(path).name} (changes)"


def flow_name(path: str) -> str | None:
    """'flows/Main Process.py' -> 'Main Process'; None for anything that is not a flow."""
    p = Path(path)
    return p.stem if p.parent.as_posix() == "flows" and p.suffix == ".py" else None


class DiffTabs:
    def __init__(self, window):
        """``window``: the main window (its ``tabs``, ``workspace``, ``show_error`` and, for
        Open File, ``files``)."""
        self.window = window

    def open(self, path: str, original: str | None = None, focus: bool = False) -> DiffPage:
        """Show the diff of ``path`` (``original``: its path in HEAD if renamed) in its tab."""
        tabs = self.window.tabs
        page = tabs.page(KEY_PREFIX + path)
        if page is None:
            page = tabs.open_page(KEY_PREFIX + path, tab_title(path), lambda: self._make(path, original),
                                  f"{path}: {COMPARED}", flow=flow_name(path))
        else:
            page.original = original
            tabs.setCurrentWidget(page)
        page.reload()
        if focus:
            page.focus_editor()
        return page

    def _make(self, path: str, original: str | None) -> DiffPage:
        return DiffPage(path, original, self._root, lambda: self.window.tabs.theme, self._open_source)

    def pages(self) -> dict[str, DiffPage]:
        """The open diff tabs by file path."""
        tabs = self.window.tabs
        widgets = (tabs.widget(i) for i in range(tabs.count()))
        return {w.path: w for w in widgets if isinstance(w, DiffPage)}

    def refresh(self, snapshot: StatusSnapshot | None = None) -> None:
        """Compare every open diff again; a file gone from the status compares as unchanged."""
        entries = {f.path: f for f in snapshot.files} if snapshot is not None else {}
        for path, page in self.pages().items():
            if snapshot is not None:
                entry = entries.get(path)
                page.original = entry.original if entry is not None else None
            page.reload()

    def _root(self) -> Path | None:
        workspace = self.window.workspace
        return workspace.root if workspace is not None and is_repository(workspace.root) else None

    def _open_source(self, path: str, line: int | None) -> None:
        name, workspace = flow_name(path), self.window.workspace
        if name is not None and workspace is not None and workspace.has_flow(name):
            self.window.tabs.open_flow(name, line)
        elif path.startswith("files/") and getattr(self.window, "files", None) is not None:
            self.window.files.open_file(path[len("files/"):])
        else:
            self.window.show_error(f"{path} is neither a flow nor a file of files/: open it outside the IDE "
                                   f"(e.g. in a terminal).")
