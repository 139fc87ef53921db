"""Workspace files (``files/``) in the IDE: listed in the Explorer, opened by double-click,
edited and saved back; a binary file is refused with a message in the status bar."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt


@pytest.fixture
def file_api(monkeypatch):
    """The contract's Workspace file API. Until the engine side lands it, a minimal stand-in
    with the contract's behaviour lets the IDE side be tested; the real one wins when present."""
    from engine_core.workspace import Workspace

    if hasattr(Workspace, "file_names"):
        return
    monkeypatch.setattr(Workspace, "files_dir", property(lambda self: self.root / "files"), raising=False)
    monkeypatch.setattr(Workspace, "file_path", lambda self, name: self.files_dir / name, raising=False)
    monkeypatch.setattr(Workspace, "file_names", lambda self: sorted(
        p.relative_to(self.files_dir).as_posix() for p in self.files_dir.rglob("*") if p.is_file())
        if self.files_dir.is_dir() else [], raising=False)
    monkeypatch.setattr(Workspace, "read_file", lambda self, name: self.file_path(name).read_bytes(), raising=False)

    def write_file(self, name, data):
        self.file_path(name).parent.mkdir(parents=True, exist_ok=True)
        self.file_path(name).write_bytes(data)
    monkeypatch.setattr(Workspace, "write_file", write_file, raising=False)


def _files(workspace) -> Path:
    folder = workspace.root / "files"
    folder.mkdir(exist_ok=True)
    return folder


def _double_click_file(qtbot, window, name: str) -> None:
    item = window.explorer.item_for("file", name)
    assert item is not None, f"{name} is not listed"
    index = item.index()
    window.explorer.scrollTo(index)
    rect = window.explorer.visualRect(index)
    # A view reacts to a double-click only on the row the press before it selected.
    qtbot.mouseClick(window.explorer.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    qtbot.mouseDClick(window.explorer.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())


def test_files_are_listed_and_a_text_file_opens_edits_and_saves(qtbot, make_window, workspace, file_api):
    folder = _files(workspace)
    (folder / "notes.txt").write_text("first line\n", encoding="utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "cities.csv").write_text("name\nVienna\n", encoding="utf-8")
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["data/cities.csv", "notes.txt"], timeout=5000)
    _double_click_file(qtbot, window, "notes.txt")
    tabs = window.files.tabs
    qtbot.waitUntil(lambda: tabs.open_file_names() == ["notes.txt"], timeout=5000)
    assert window.files.dock.isVisible()
    editor = tabs.editor_for("notes.txt")
    assert editor.text() == "first line\n"
    editor.setFocus()
    qtbot.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "second line")
    assert tabs.tabText(0) == "● notes.txt"
    flow_saves = []
    window.tabs.saved.connect(flow_saves.append)
    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: tabs.tabText(0) == "notes.txt", timeout=5000)
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "first line\nsecond line"
    assert flow_saves == [], "Ctrl+S in a file saves the file, not the current flow"
    assert window.statusBar().currentMessage() == "Saved files/notes.txt"


def test_a_binary_file_is_refused_with_a_message(qtbot, make_window, workspace, file_api):
    (_files(workspace) / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["logo.png"], timeout=5000)
    _double_click_file(qtbot, window, "logo.png")
    qtbot.waitUntil(lambda: "binary" in window.statusBar().currentMessage(), timeout=5000)
    assert window.statusBar().currentMessage().startswith(
        "files/logo.png is a binary file (not UTF-8 text); Flowdesk opens text files only")
    assert window.files.tabs.count() == 0 and window.last_error is None


def test_a_file_written_outside_the_ide_shows_up(qtbot, make_window, workspace, file_api):
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == [], timeout=5000)
    (_files(workspace) / "report.txt").write_text("done", encoding="utf-8")
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["report.txt"], timeout=5000)


def test_closing_with_an_unsaved_file_asks_and_can_save(qtbot, make_window, workspace, file_api):
    (_files(workspace) / "notes.txt").write_text("a", encoding="utf-8")
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["notes.txt"], timeout=5000)
    window.files.open_file("notes.txt")
    qtbot.waitUntil(lambda: window.files.tabs.count() == 1, timeout=5000)
    window.files.tabs.editor_for("notes.txt").set_text("b")
    window.files.tabs.editor_for("notes.txt").insertText(1, "c")  # an edit: dirty
    asked = []
    window.tabs.ask_save_changes = lambda names: asked.append(names) or "cancel"
    assert window.close() is False
    assert asked == [["notes.txt"]]
    window.tabs.ask_save_changes = lambda names: "save"
    assert window.close() is True
    assert (workspace.root / "files" / "notes.txt").read_text(encoding="utf-8") == "bc"
