"""Workspace files (``files/``) in the IDE: listed in the Explorer; a double-clicked text file
opens as an editor tab beside the flows (titled files/<name>), is edited and saved back to its
own path with Ctrl+S, is not linted as a flow, is asked about when closed unsaved and comes
back with the session; a binary file is refused with a message in the status bar."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDockWidget

from app.linting import DEBOUNCE_MS


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


def _open_by_double_click(qtbot, window, name: str):
    _double_click_file(qtbot, window, name)
    qtbot.waitUntil(lambda: window.tabs.current_key() == f"files/{name}", timeout=5000)
    return window.tabs.current_editor()


def _tab_titles(window) -> list[str]:
    return [window.tabs.tabText(i) for i in range(window.tabs.count())]


def test_a_text_file_opens_as_an_editor_tab_and_ctrl_s_saves_it(qtbot, make_window, workspace):
    folder = _files(workspace)
    (folder / "notes.txt").write_text("first line\n", encoding="utf-8")
    (folder / "data").mkdir()
    (folder / "data" / "cities.csv").write_text("name\nVienna\n", encoding="utf-8")
    window = make_window(workspace)
    window.open_flow("Messenger")
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["data/cities.csv", "notes.txt"], timeout=5000)

    editor = _open_by_double_click(qtbot, window, "notes.txt")
    assert _tab_titles(window) == ["Messenger", "files/notes.txt"], "a tab beside the flow, in the editor"
    assert window.findChild(QDockWidget, "filesDock") is None, "no separate Files dock"
    assert editor.text() == "first line\n" and editor.hasFocus()
    assert not window.run_action.isEnabled(), "a file is not a flow to run"

    qtbot.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "second line")
    assert _tab_titles(window)[1] == "● files/notes.txt"
    flow_saves = []
    window.tabs.saved.connect(flow_saves.append)
    qtbot.keyClick(editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert _tab_titles(window) == ["Messenger", "files/notes.txt"]
    assert (folder / "notes.txt").read_text(encoding="utf-8") == "first line\nsecond line"
    assert not (workspace.root / "flows" / "notes.txt.py").exists() and flow_saves == []
    assert window.statusBar().currentMessage() == "Saved files/notes.txt"

    # Not linted as a flow: this text would be a syntax error in Python.
    qtbot.wait(DEBOUNCE_MS + 700)
    assert window.problems_model.rowCount() == 0 and editor.indicator_ranges() == []

    # A file in a sub folder, and the flow tab still works as before.
    editor_csv = _open_by_double_click(qtbot, window, "data/cities.csv")
    assert editor_csv.text() == "name\nVienna\n"
    window.tabs.setCurrentIndex(0)
    assert window.tabs.current_flow() == "Messenger" and window.run_action.isEnabled()


def test_the_find_bar_works_in_a_file_tab(qtbot, make_window, workspace):
    (_files(workspace) / "notes.txt").write_text("alpha\nbeta\nalpha\n", encoding="utf-8")
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["notes.txt"], timeout=5000)
    editor = _open_by_double_click(qtbot, window, "notes.txt")
    qtbot.keyClick(editor, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(editor.find_bar.isVisible, timeout=2000)
    assert editor.find_next("beta") and editor.current_line() == 2


def test_python_highlighting_only_for_py_files(qtbot, make_window, workspace):
    from app.editor.themes import SCE_P_WORD

    folder = _files(workspace)
    (folder / "helper.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (folder / "notes.txt").write_text("def f():\n    return 1\n", encoding="utf-8")
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["helper.py", "notes.txt"], timeout=5000)
    styles = {}
    for name in ("helper.py", "notes.txt"):
        editor = _open_by_double_click(qtbot, window, name)
        editor.colourise(0, -1)
        styles[name] = {editor.styleAt(pos) for pos in range(editor.length())}
    assert SCE_P_WORD in styles["helper.py"], "'def' and 'return' are Python keywords there"
    assert styles["notes.txt"] == {0}, "plain text: one style"


def test_a_binary_file_is_refused_with_a_message(qtbot, make_window, workspace):
    (_files(workspace) / "logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe")
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["logo.png"], timeout=5000)
    _double_click_file(qtbot, window, "logo.png")
    qtbot.waitUntil(lambda: "binary" in window.statusBar().currentMessage(), timeout=5000)
    assert window.statusBar().currentMessage().startswith(
        "files/logo.png is a binary file (not UTF-8 text); Flowdesk opens text files only")
    assert window.tabs.count() == 0 and window.last_error is None


def test_a_file_written_outside_the_ide_shows_up(qtbot, make_window, workspace):
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == [], timeout=5000)
    (_files(workspace) / "report.txt").write_text("done", encoding="utf-8")
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["report.txt"], timeout=5000)


def test_closing_a_file_tab_or_the_window_with_unsaved_edits_asks(qtbot, make_window, workspace):
    path = _files(workspace) / "notes.txt"
    path.write_text("a", encoding="utf-8")
    window = make_window(workspace)
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["notes.txt"], timeout=5000)
    editor = _open_by_double_click(qtbot, window, "notes.txt")
    qtbot.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(editor, "b")
    asked = []
    window.tabs.ask_save_changes = lambda names: asked.append(names) or "cancel"
    window.close_current_tab()
    assert asked == [["files/notes.txt"]] and window.tabs.count() == 1, "cancel keeps the tab"
    assert window.close() is False
    assert asked[-1] == ["files/notes.txt"] and path.read_text(encoding="utf-8") == "a"
    window.tabs.ask_save_changes = lambda names: "save"
    assert window.close() is True
    assert path.read_text(encoding="utf-8") == "ab"


def test_open_file_tabs_come_back_with_the_session(qtbot, make_window, workspace):
    (_files(workspace) / "notes.txt").write_text("remember me\n", encoding="utf-8")
    window = make_window(workspace)
    window.open_flow("Messenger")
    qtbot.waitUntil(lambda: window.explorer.file_names() == ["notes.txt"], timeout=5000)
    _open_by_double_click(qtbot, window, "notes.txt")
    window.close()
    again = make_window(None)
    with qtbot.waitSignal(again.bridge.opened, timeout=20000):
        again.open_workspace(again.session.last_workspace())
    qtbot.waitUntil(lambda: _tab_titles(again) == ["Messenger", "files/notes.txt"], timeout=5000)
    assert again.tabs.current_key() == "files/notes.txt"
    assert again.tabs.file_editor("notes.txt").text() == "remember me\n"
