"""The code editor as a user sees it: colours, dirtiness, problems, find/replace, comments,
indentation, shortcuts, completion."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QToolTip

from app.editor import CodeEditor
from app.editor.themes import (SCE_P_COMMENTLINE, SCE_P_DECORATOR, SCE_P_DEFNAME, SCE_P_STRING, SCE_P_WORD,
                               SCE_P_WORD2)
from engine_core.analysis import Completion, Problem

CTRL = Qt.KeyboardModifier.ControlModifier
SHIFT = Qt.KeyboardModifier.ShiftModifier


@pytest.fixture
def editor(qtbot) -> CodeEditor:
    widget = CodeEditor()
    qtbot.addWidget(widget)
    widget.resize(700, 400)
    widget.show()
    qtbot.waitExposed(widget)
    widget.setFocus()
    return widget


def _style_of(editor: CodeEditor, needle: str, occurrence: int = 0) -> int:
    text = editor.text()
    index = -1
    for _ in range(occurrence + 1):
        index = text.index(needle, index + 1)
    editor.colourise(0, -1)
    return editor.styleAt(len(text[:index].encode("utf-8")))


def _selected(editor: CodeEditor) -> str:
    return bytes(editor.getSelText()).decode("utf-8")


# -- highlighting, themes ----------------------------------------------------------------------
def test_python_is_highlighted(editor):
    editor.set_text("@step\ndef run(x):\n    # note\n    match x:\n        case 1:\n            return \"one\"\n"
                    "re.match(x)\n")
    assert _style_of(editor, "def") == SCE_P_WORD
    assert _style_of(editor, "run") == SCE_P_DEFNAME
    assert _style_of(editor, "@step") == SCE_P_DECORATOR
    assert _style_of(editor, "# note") == SCE_P_COMMENTLINE
    assert _style_of(editor, '"one"') == SCE_P_STRING
    assert _style_of(editor, "match") == SCE_P_WORD2  # soft keyword as a statement...
    assert _style_of(editor, "match", 1) != SCE_P_WORD2  # ...but not as an attribute
    assert editor.styleFore(SCE_P_WORD) != editor.styleFore(0)


def test_theme_switch_changes_background_and_keyword_colour(editor):
    light_back, light_keyword = editor.styleBack(0), editor.styleFore(SCE_P_WORD)
    editor.set_theme("dark")
    assert editor.styleBack(0) != light_back
    assert editor.styleBack(SCE_P_WORD) == editor.styleBack(0)  # every style follows the default
    assert editor.styleFore(SCE_P_WORD) != light_keyword
    editor.set_theme("light")
    assert editor.styleBack(0) == light_back


def test_clicking_the_fold_margin_folds_a_block(qtbot, editor):
    editor.set_text("def f():\n    x = 1\n    return x\n\ny = 2\n")
    fold_x = sum(editor.marginWidthN(m) for m in range(3)) + 5
    qtbot.waitUntil(lambda: bool(editor.foldLevel(0) & 0x2000))  # painted: the lexer marked the fold header
    qtbot.mouseClick(editor.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(fold_x, editor.pointYFromPosition(0) + 3))
    assert not editor.lineVisible(1) and not editor.lineVisible(2) and editor.lineVisible(4)
    editor.go_to_line(3)  # jumping into a folded block unfolds it
    assert editor.lineVisible(2)


def test_line_number_margin_grows_with_line_count(editor):
    editor.set_text("x = 1\n")
    narrow = editor.marginWidthN(0)
    editor.set_text("x = 1\n" * 12000)
    assert editor.marginWidthN(0) > narrow


# -- text, dirtiness, caret ----------------------------------------------------------------------
def test_typing_makes_dirty_and_mark_clean_resets(qtbot, editor):
    editor.set_text("héllo = 1\n")
    assert editor.text() == "héllo = 1\n" and not editor.is_dirty() and not editor.canUndo()
    edits = []
    editor.textEdited.connect(lambda: edits.append(1))
    with qtbot.waitSignal(editor.dirtyChanged, check_params_cb=lambda dirty: dirty is True):
        qtbot.keyClicks(editor, "ab")
    assert editor.is_dirty() and len(edits) == 2
    assert editor.text() == "abhéllo = 1\n"
    with qtbot.waitSignal(editor.dirtyChanged, check_params_cb=lambda dirty: dirty is False):
        editor.mark_clean()
    assert not editor.is_dirty()
    editor.set_text("other")
    assert len(edits) == 2, "set_text is not an edit"


def test_go_to_line_select_lines_and_cursor_position(qtbot, editor):
    editor.set_text("".join(f"line_{i} = {i}\n" for i in range(1, 201)))
    with qtbot.waitSignal(editor.cursorLineChanged, check_params_cb=lambda line: line == 150):
        editor.go_to_line(150)
    assert editor.current_line() == 150
    assert editor.cursor_position() == (150, 0)
    assert editor.firstVisibleLine() > 100, "scrolled into view"
    with qtbot.waitSignal(editor.cursorLineChanged, check_params_cb=lambda line: line == 151):
        qtbot.keyClick(editor, Qt.Key.Key_Down)
    qtbot.keyClick(editor, Qt.Key.Key_Up)
    qtbot.keyClick(editor, Qt.Key.Key_End)
    assert editor.cursor_position() == (150, len("line_150 = 150"))
    editor.select_lines(3, 4)
    assert _selected(editor) == "line_3 = 3\nline_4 = 4"


# -- problems ------------------------------------------------------------------------------------
def test_problems_show_squiggles_markers_and_tooltips(editor):
    editor.set_text("import os\nprint(undefined_name + 1)\n")
    problems = [Problem(2, 6, "undefined name 'undefined_name'", "error"),
                Problem(1, 0, "'os' imported but unused", "warning", end_column=9)]
    editor.set_problems(problems)
    start = editor.positionFromLine(1) + 6
    assert editor.indicator_ranges() == [(0, 9, "warning"), (start, len("undefined_name"), "error")]
    assert editor.markerGet(1) & (1 << 4) and editor.markerGet(0) & (1 << 5)
    assert not editor.markerGet(1) & 0b1111, "markers 0-3 stay free for breakpoints"
    assert editor.problems_at_line(2) == [problems[0]]
    assert editor.problem_tooltip(2) == "Error: undefined name 'undefined_name'"
    # Hovering the squiggled word shows the message too; elsewhere on the line nothing.
    x, y = editor.pointXFromPosition(start + 3), editor.pointYFromPosition(start + 3)
    assert "undefined_name" in editor.tooltip_at_point(x + 1, y + 2)
    margin_x = editor.marginWidthN(0) + 2
    assert editor.tooltip_at_point(margin_x, y + 2) == editor.problem_tooltip(2)
    editor.set_problems([Problem(1, 7, "other", "warning")])
    assert editor.indicator_ranges() == [(7, 2, "warning")]
    assert editor.problems_at_line(2) == [] and editor.markerGet(1) == 0


def test_resting_the_mouse_on_a_squiggle_shows_its_message(qtbot, editor):
    editor.set_text("def f():\n    return undefined\n")
    editor.set_problems([Problem(2, 11, "undefined name 'undefined'", "error")])
    pos = editor.positionFromLine(1) + 13
    with qtbot.waitSignal(editor.dwellStart, timeout=3000):
        qtbot.mouseMove(editor.viewport(), QPoint(editor.pointXFromPosition(pos) + 1, editor.pointYFromPosition(pos) + 3))
    assert QToolTip.isVisible() and QToolTip.text() == "Error: undefined name 'undefined'"
    QToolTip.hideText()


def test_problem_columns_count_characters(editor):
    editor.set_text("café = unknown\n")
    editor.set_problems([Problem(1, 7, "undefined name 'unknown'", "error")])
    [(start, length, _)] = editor.indicator_ranges()
    assert bytes(editor.textRange(start, start + length)).decode() == "unknown"


def test_problem_without_identifier_marks_to_end_of_line(editor):
    editor.set_text("x = (1,\n")
    editor.set_problems([Problem(1, 4, "'(' was never closed", "error")])
    assert editor.indicator_ranges() == [(4, 3, "error")]


# -- find and replace ----------------------------------------------------------------------------
def test_find_next_previous_with_options_and_wrap(editor):
    editor.set_text("Foo foo food\nfoo\n")
    assert editor.find_next("foo") and editor.selectionStart() == 0  # case-insensitive
    assert editor.find_next("foo", case=True) and editor.selectionStart() == 4
    assert editor.find_next("foo", word=True) and editor.selectionStart() == 13
    assert editor.find_next("foo", word=True, case=True) and editor.selectionStart() == 4, "wrapped"
    assert editor.find_next("foo", case=True, backwards=True) and editor.selectionStart() == 13, "wrapped back"
    assert editor.find_next(r"fo+d", regex=True) and _selected(editor) == "food"
    assert not editor.find_next("bar")


def test_find_bar_counts_and_navigates_with_keys(qtbot, editor):
    editor.set_text("a = 1\nb = a + a\n")
    editor.setSel(0, 1)  # "a" selected: the bar starts with it
    qtbot.keyClick(editor, Qt.Key.Key_F, CTRL)
    bar = editor.find_bar
    assert bar.isVisible() and bar.find_edit.text() == "a" and bar.find_edit.hasFocus()
    assert not bar.replace_edit.isVisible()
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Return)
    assert bar.status_label.text() == "2 of 3"
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Return, SHIFT)
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Return, SHIFT)
    assert bar.status_label.text() == "3 of 3", "wrapped backwards"
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_F3)
    assert bar.status_label.text() == "1 of 3", "F3 wraps forwards"
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_F3, SHIFT)
    assert bar.status_label.text() == "3 of 3"
    qtbot.keyClicks(bar.find_edit, "zz")
    assert bar.status_label.text() == "No results"
    qtbot.keyClick(bar.find_edit, Qt.Key.Key_Escape)
    assert not bar.isVisible() and editor.hasFocus()


def test_replace_all_is_one_undo_step(qtbot, editor):
    editor.set_text("x = 1\ny = x + x\nxx = 2\n")
    assert editor.replace_all("x", "value", word=True) == 3
    assert editor.text() == "value = 1\ny = value + value\nxx = 2\n"
    assert editor.replace_all(r"(\w+) = (\d)", r"\2 = \1", regex=True) == 2
    assert editor.text() == "1 = value\ny = value + value\n2 = xx\n"
    editor.undo()
    editor.undo()
    assert editor.text() == "x = 1\ny = x + x\nxx = 2\n"


def test_replace_from_the_bar(qtbot, editor):
    editor.set_text("a a a\n")
    qtbot.keyClick(editor, Qt.Key.Key_H, CTRL)
    bar = editor.find_bar
    assert bar.replace_edit.isVisible()
    qtbot.keyClicks(bar.find_edit, "a")
    qtbot.keyClicks(bar.replace_edit, "b")
    qtbot.keyClick(bar.replace_edit, Qt.Key.Key_Return)
    assert editor.text() == "b a a\n"
    qtbot.mouseClick(bar.replace_all_button, Qt.MouseButton.LeftButton)
    assert editor.text() == "b b b\n"


# -- editing commands ----------------------------------------------------------------------------
def test_toggle_comment_keeps_indentation_and_undoes_in_one_step(qtbot, editor):
    source = "def f():\n    x = 1\n\n        y = 2\n    return x\n"
    editor.set_text(source)
    editor.setSel(editor.positionFromLine(1), editor.positionFromLine(4))  # lines 2-4
    qtbot.keyClick(editor, Qt.Key.Key_Slash, CTRL)
    assert editor.text() == "def f():\n    # x = 1\n\n    #     y = 2\n    return x\n"
    editor.toggle_comment()
    assert editor.text() == source
    editor.toggle_comment()
    editor.undo()
    assert editor.text() == source
    editor.setEmptySelection(0)
    editor.toggle_comment()
    assert editor.text().startswith("# def f():\n    x = 1")


def test_enter_auto_indents(qtbot, editor):
    editor.set_text("")
    qtbot.keyClicks(editor, "def f():  # start")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.text() == "def f():  # start\n    "
    qtbot.keyClicks(editor, "if x:")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "return 1")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.keyClicks(editor, "y = '''a:")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.text().endswith("        return 1\n    y = '''a:\n    ")
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.text().endswith("\n        "), "Tab inserts spaces"


def test_go_to_line_shortcut_opens_a_prompt(qtbot, editor, monkeypatch):
    asked = []
    monkeypatch.setattr("app.editor.code_editor.QInputDialog.getInt",
                        lambda *args: asked.append(args) or (3, True))
    editor.set_text("a\nb\nc\nd\n")
    qtbot.keyClick(editor, Qt.Key.Key_G, CTRL)
    assert asked and editor.current_line() == 3


# -- completion ----------------------------------------------------------------------------------
def test_completion_inserts_the_chosen_item_and_shows_signature(qtbot, editor):
    editor.set_text("")
    requests = []
    editor.completionRequested.connect(lambda: requests.append(1))
    qtbot.keyClicks(editor, "this.")
    assert requests == [1], "typing '.' asks for completions"
    qtbot.keyClicks(editor, "fl")
    items = [Completion("flow", "flow", "method", "flow(flow_name, *, wait=True) -> Execution"),
             Completion("flow_name", "flow_name", "property")]
    editor.show_completions(items, 2)
    assert editor.autoCActive()
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    assert editor.text() == "this.flow" and not editor.autoCActive()
    assert editor.callTipActive()
    qtbot.keyClicks(editor, "('")
    assert requests == [1, 1], "a quote inside this.flow( asks for flow names"
    qtbot.keyClick(editor, Qt.Key.Key_Space, CTRL)
    assert len(requests) == 3


def test_completion_insert_text_differs_from_name(qtbot, editor):
    editor.set_text("")
    qtbot.keyClicks(editor, "this.flow('R")
    editor.replaceSel("é")  # as typed (QTest cannot type non-ASCII); 2 characters, 3 bytes
    editor.show_completions([Completion("Résumé (flow)", "Résumé", "flow")], 2)
    qtbot.keyClick(editor, Qt.Key.Key_Tab)
    assert editor.text() == "this.flow('Résumé"
    assert editor.cursor_position() == (1, len("this.flow('Résumé"))


def test_editor_keys_belong_to_the_focused_editor_when_two_are_on_screen(qtbot):
    """Two editors side by side (as in a diff): Ctrl+F opens the find bar of the one with the
    focus, not neither (an ambiguous window-wide shortcut does nothing)."""
    from PySide6.QtWidgets import QHBoxLayout, QWidget

    from app.editor import CodeEditor

    host = QWidget()
    qtbot.addWidget(host)
    left, right = CodeEditor(), CodeEditor()
    layout = QHBoxLayout(host)
    layout.addWidget(left)
    layout.addWidget(right)
    left.set_text("alpha\n")
    right.set_text("beta\n")
    host.show()
    host.activateWindow()
    qtbot.waitExposed(host)
    right.setFocus()
    qtbot.waitUntil(right.hasFocus)
    qtbot.keyClick(right, Qt.Key.Key_F, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: right.find_bar.isVisible())
    assert not left.find_bar.isVisible()
