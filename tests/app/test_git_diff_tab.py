"""The Git panel's side-by-side diff as a tab of the editor area (pytest-qt, offscreen, real
git repositories): a click on a changed file opens it full width beside the flows, the
painted line backgrounds are the changed lines (read back from Scintilla's markers and from
the rendered pixels), F7 / Alt+F5 and their Shift variants move between changes, the two
sides scroll together, and a commit turns the tab into "No changes"."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QPlainTextEdit, QTabWidget

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "vcs"))  # the Git test helpers

from git_helpers import copy_examples, git, isolate_git  # noqa: E402

from engine_core.vcs import GitRepository  # noqa: E402
from engine_core.vcs.diff import ADDED, CHANGED, FILLER, REMOVED  # noqa: E402

CALC = "flows/Calculator.py"
LONG = "flows/Long.py"
LONG_LINES = 300
# The 0-based lines of Long.py the tests change: far enough apart to need scrolling between.
EDITED = (20, 150, 280)


@pytest.fixture
def repo_workspace(tmp_path, monkeypatch):
    """The example workspace plus a 300-line flow, committed in a repository of its own."""
    isolate_git(monkeypatch, tmp_path / "home")
    root = copy_examples(tmp_path / "ws")
    body = "".join(f"    value_{i} = {i}  # line {i + 4}\n" for i in range(LONG_LINES))
    (root / LONG).write_text(f"import flow_api\n\ndef handler(system, this, inputs):\n{body}"
                             f"    return this.success('done')\n")
    repository = GitRepository.init(root)
    repository.stage_workspace()
    repository.commit("seed")
    return root


@pytest.fixture
def diff_window(qtbot, make_window, repo_workspace):
    window = make_window(repo_workspace)
    window.resize(1400, 900)
    controller = window.git
    controller.ask_reload = lambda name: pytest.fail(f"unexpected reload question for {name}")
    window.git.dock.show()
    window.git.dock.raise_()
    # Keys go to the focused widget of the active window: make it active, as a user's click would.
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    return window, controller


def _refresh(qtbot, controller, rows: int) -> None:
    controller.refresh()
    qtbot.waitUntil(lambda: controller.panel.model.rowCount() == rows, timeout=10000)


def _click_file(qtbot, panel, path: str, double: bool = False) -> None:
    index = panel.model.index(panel.model.row_of(path), 1)
    panel.files.scrollTo(index)
    point = panel.files.visualRect(index).center()
    qtbot.mouseClick(panel.files.viewport(), Qt.MouseButton.LeftButton, pos=point)
    if double:  # a double-click is a click, then a second press that Qt reports as DblClick
        qtbot.mouseDClick(panel.files.viewport(), Qt.MouseButton.LeftButton, pos=point)


def _open_by_click(qtbot, window, controller, path: str):
    from app.git.diff_page import DiffPage

    _click_file(qtbot, controller.panel, path)
    qtbot.waitUntil(lambda: isinstance(window.tabs.currentWidget(), DiffPage)
                    and window.tabs.currentWidget().ready, timeout=10000)
    return window.tabs.currentWidget()


def _edit_calculator(root: Path) -> None:
    text = (root / CALC).read_text().splitlines(keepends=True)
    text[7] = "    result = initial_value * 2\n"  # line 8 changed
    del text[9:11]  # the comment and set_output call removed
    text.append("    # a new last line\n")  # added
    (root / CALC).write_text("".join(text))


def test_click_opens_the_diff_as_a_full_width_editor_tab_with_the_changed_lines_painted(
        qtbot, diff_window, repo_workspace):
    window, controller = diff_window
    window.tabs.open_flow("Main Process")
    _edit_calculator(repo_workspace)
    _refresh(qtbot, controller, 1)

    page = _open_by_click(qtbot, window, controller, CALC)

    tabs = window.tabs
    assert tabs.tabText(tabs.indexOf(page)) == "Calculator.py (changes)"
    assert "HEAD ↔ working tree" in tabs.tabToolTip(tabs.indexOf(page))
    assert tabs.page(f"diff:{CALC}") is page
    # In the editor area beside the flow, not inside the sidebar's dock.
    assert isinstance(page.parent().parent(), QTabWidget) and page.parent().parent() is tabs
    assert not controller.dock.isAncestorOf(page)
    assert page.width() >= tabs.width() - 10
    assert page.left.width() > 400 and page.right.width() > 400  # no 190 px boxes
    assert "HEAD ↔ working tree" in page.title.text() and CALC in page.title.text()
    assert "+2" in page.counts.text() and "−3" in page.counts.text()

    left, right = page.left, page.right
    assert left.lineCount() == right.lineCount()  # aligned row for row
    # Row 7: line 8 changed on both sides; rows 9-10: removed on the left, fillers on the right.
    assert left.rows_marked(CHANGED) == right.rows_marked(CHANGED) == [7]
    assert left.line_text(7).endswith("* 1") and right.line_text(7).endswith("* 2")
    assert left.rows_marked(REMOVED) == [9, 10]
    assert [left.line_text(r) for r in (9, 10)] == ["    # saving result into the 'result' field of the output_value",
                                                    "    this.set_output(result=result)"]
    assert right.rows_marked(FILLER) == [9, 10] and right.line_text(9) == right.line_text(10) == ""
    assert right.rows_marked(ADDED) == [13] and right.line_text(13) == "    # a new last line"
    assert left.rows_marked(FILLER) == [13]
    assert left.rows_marked(ADDED) == [] and right.rows_marked(REMOVED) == []
    # The margins show each file's own line numbers; filler rows have none.
    assert [right.line_number_at(r) for r in (8, 9, 10, 11)] == ["9", "", "", "10"]
    assert left.line_number_at(13) == "" and left.line_number_at(12) == "13"
    assert left.highlighted_text() == ["1"] and right.highlighted_text() == ["2"]  # the characters that differ
    assert left.readOnly() and right.readOnly()


def _pixel(editor, row: int) -> QColor:
    """The colour painted at the right end of ``row`` (past its text)."""
    y = editor.pointYFromPosition(editor.positionFromLine(row)) + 3
    return editor.grab().toImage().pixelColor(editor.viewport().width() - 30, y)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_the_backgrounds_are_painted_in_the_themes_colours(qtbot, diff_window, repo_workspace, theme):
    from app.git.diff_editor import COLOURS

    window, controller = diff_window
    _edit_calculator(repo_workspace)
    _refresh(qtbot, controller, 1)
    page = _open_by_click(qtbot, window, controller, CALC)
    window.apply_theme(theme)
    colours = COLOURS[theme]
    qtbot.waitUntil(lambda: _pixel(page.left, 9) == QColor(colours.removed), timeout=5000)
    assert _pixel(page.right, 13) == QColor(colours.added)
    assert _pixel(page.right, 7) == QColor(colours.changed) == _pixel(page.left, 7)
    assert _pixel(page.right, 9) == QColor(colours.filler)
    assert _pixel(page.right, 3) != QColor(colours.changed)  # an unchanged line keeps the editor's background


def _edit_long(root: Path) -> list[int]:
    lines = (root / LONG).read_text().splitlines(keepends=True)
    for index in EDITED:
        lines[index] = lines[index].replace("= ", "= -")
    (root / LONG).write_text("".join(lines))
    return list(EDITED)


def test_f7_and_alt_f5_go_to_the_next_and_previous_change(qtbot, diff_window, repo_workspace):
    window, controller = diff_window
    rows = _edit_long(repo_workspace)
    _refresh(qtbot, controller, 1)
    page = _open_by_click(qtbot, window, controller, LONG)
    left, right = page.left, page.right
    assert right.rows_marked(CHANGED) == rows
    # Opened on the first change, as VS Code does.
    assert right.current_row() == rows[0] and page.position.text() == "Change 1 of 3"
    right.setFocus()
    qtbot.waitUntil(right.hasFocus, timeout=5000)

    qtbot.keyClick(right, Qt.Key.Key_F7)
    assert right.current_row() == left.current_row() == rows[1]
    top = right.firstVisibleLine()
    assert top <= rows[1] < top + right.linesOnScreen() and top > rows[0]  # scrolled there
    assert left.firstVisibleLine() == top and page.position.text() == "Change 2 of 3"

    qtbot.keyClick(right, Qt.Key.Key_F5, Qt.KeyboardModifier.AltModifier)  # VS Code's key
    assert right.current_row() == rows[2] and left.firstVisibleLine() == right.firstVisibleLine()
    qtbot.keyClick(right, Qt.Key.Key_F7)  # past the last change: back to the first
    assert right.current_row() == rows[0]

    qtbot.keyClick(right, Qt.Key.Key_F7, Qt.KeyboardModifier.ShiftModifier)  # before the first: the last
    assert right.current_row() == rows[2]
    qtbot.keyClick(right, Qt.Key.Key_F5, Qt.KeyboardModifier.ShiftModifier | Qt.KeyboardModifier.AltModifier)
    assert right.current_row() == rows[1]
    assert left.firstVisibleLine() == right.firstVisibleLine() <= rows[1]

    # The toolbar buttons do the same and name the keys.
    assert "Alt+F5" in page.buttons["next"].toolTip() and "F7" in page.buttons["next"].toolTip()
    assert "Shift+Alt+F5" in page.buttons["previous"].toolTip()
    page.buttons["previous"].click()
    assert right.current_row() == rows[0]


def test_the_two_sides_scroll_together(qtbot, diff_window, repo_workspace):
    window, controller = diff_window
    _edit_long(repo_workspace)
    _refresh(qtbot, controller, 1)
    page = _open_by_click(qtbot, window, controller, LONG)
    page.right.verticalScrollBar().setValue(200)
    assert page.left.firstVisibleLine() == 200
    page.left.verticalScrollBar().setValue(37)
    assert page.right.firstVisibleLine() == 37


def test_the_panel_keeps_only_the_file_list_and_the_commit_box(qtbot, diff_window):
    from pyside6_scintilla import ScintillaEdit

    window, controller = diff_window
    panel = controller.panel
    assert panel.findChildren(ScintillaEdit) == []
    assert panel.findChildren(QPlainTextEdit) == [panel.commit_message]
    assert not hasattr(panel, "diff")


def test_a_second_click_raises_the_same_tab_and_shows_the_file_as_it_is_now(qtbot, diff_window, repo_workspace):
    window, controller = diff_window
    _edit_calculator(repo_workspace)
    _refresh(qtbot, controller, 1)
    page = _open_by_click(qtbot, window, controller, CALC)
    window.tabs.open_flow("Messenger")
    count = window.tabs.count()
    (repo_workspace / CALC).write_text((repo_workspace / CALC).read_text() + "    # one more\n")

    _click_file(qtbot, controller.panel, CALC)

    assert window.tabs.currentWidget() is page and window.tabs.count() == count
    qtbot.waitUntil(lambda: page.right.rows_marked(ADDED) == [13, 14], timeout=10000)
    assert page.right.line_text(14) == "    # one more"


def test_enter_on_a_file_opens_its_diff_and_moves_the_focus_there(qtbot, diff_window, repo_workspace):
    from app.git.diff_page import DiffPage

    window, controller = diff_window
    _edit_calculator(repo_workspace)
    _refresh(qtbot, controller, 1)
    panel = controller.panel
    panel.files.setFocus()
    panel.files.setCurrentIndex(panel.model.index(0, 1))
    qtbot.keyClick(panel.files, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: isinstance(window.tabs.currentWidget(), DiffPage), timeout=10000)
    page = window.tabs.currentWidget()
    qtbot.waitUntil(page.right.hasFocus, timeout=5000)


def test_committing_turns_the_open_diff_into_no_changes(qtbot, diff_window, repo_workspace):
    window, controller = diff_window
    _edit_calculator(repo_workspace)
    _refresh(qtbot, controller, 1)
    page = _open_by_click(qtbot, window, controller, CALC)
    assert page.stack.currentIndex() == 0
    panel = controller.panel
    panel.commit_message.setPlainText("calculator doubles")
    panel.commit_message.setFocus()
    qtbot.keyClick(panel.commit_message, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)

    qtbot.waitUntil(lambda: page.stack.currentWidget() is page.message and "No changes" in page.message.text(),
                    timeout=10000)
    assert git(repo_workspace, "log", "-1", "--format=%s").strip() == "calculator doubles"
    assert page.counts.text() == "" and not page.buttons["next"].isEnabled()
    assert window.tabs.indexOf(page) >= 0  # still open: the user closes it

    # Changed again later (here: reverted to the old text, which differs from the new HEAD):
    # the next refresh shows the diff again.
    git(repo_workspace, "show", f"HEAD~1:{CALC}")
    (repo_workspace / CALC).write_text(git(repo_workspace, "show", f"HEAD~1:{CALC}"))
    controller.refresh()
    qtbot.waitUntil(lambda: page.stack.currentIndex() == 0 and page.left.rows_marked(CHANGED) == [7], timeout=10000)


def test_new_deleted_and_binary_files(qtbot, diff_window, repo_workspace):
    window, controller = diff_window
    (repo_workspace / "flows/Brand New.py").write_text("import flow_api\n\n# new\n")
    (repo_workspace / "flows/Messenger.py").unlink()
    (repo_workspace / "files").mkdir(exist_ok=True)
    (repo_workspace / "files/logo.png").write_bytes(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR")
    _refresh(qtbot, controller, 3)

    new = _open_by_click(qtbot, window, controller, "flows/Brand New.py")
    assert new.left_title.text().startswith("HEAD: not there") and new.left.text() == ""
    assert new.right.rows_marked(ADDED) == [0, 1, 2] and "+3" in new.counts.text()

    deleted = _open_by_click(qtbot, window, controller, "flows/Messenger.py")
    assert deleted.right_title.text() == "Working tree: deleted" and deleted.right.text() == ""
    assert deleted.left.rows_marked(REMOVED) == list(range(deleted.left.lineCount()))

    binary = _open_by_click(qtbot, window, controller, "files/logo.png")
    assert binary.stack.currentWidget() is binary.message
    assert "binary file" in binary.message.text() and "absent" in binary.message.text()
    assert window.tabs.count() >= 3 and len(controller.diffs.pages()) == 3


def test_open_file_opens_the_flow_at_the_line_of_the_current_change(qtbot, diff_window, repo_workspace):
    window, controller = diff_window
    rows = _edit_long(repo_workspace)
    _refresh(qtbot, controller, 1)
    page = _open_by_click(qtbot, window, controller, LONG)
    page.right.setFocus()
    qtbot.waitUntil(page.right.hasFocus, timeout=5000)
    qtbot.keyClick(page.right, Qt.Key.Key_F7)
    page.buttons["open"].click()
    editor = window.tabs.editor_for("Long")
    assert window.tabs.current_editor() is editor
    assert editor.current_line() == rows[1] + 1  # no filler rows above: row n is line n + 1


def test_double_click_opens_the_diff_with_the_focus_there_and_ctrl_f_finds_in_it(qtbot, diff_window, repo_workspace):
    from app.git.diff_page import DiffPage

    window, controller = diff_window
    _edit_calculator(repo_workspace)
    _refresh(qtbot, controller, 1)
    _click_file(qtbot, controller.panel, CALC, double=True)
    qtbot.waitUntil(lambda: isinstance(window.tabs.currentWidget(), DiffPage) and window.tabs.currentWidget().ready,
                    timeout=10000)
    page = window.tabs.currentWidget()
    qtbot.waitUntil(page.right.hasFocus, timeout=5000)
    qtbot.keyClick(page.right, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    assert page.right.find_bar.isVisible()
    assert page.right.find_next("new last line")
    assert page.right.current_row() == 13
