"""Ctrl+/ in the editor: comment out the selected lines (or the caret's) with "# " at their
common indentation, or uncomment them if all are comments; one undo step."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .code_editor import CodeEditor


def toggle_comment(editor: "CodeEditor") -> None:
    first, last = _selected_line_range(editor)
    lines = [(i, editor.line_text(i)) for i in range(first, last + 1)]
    code = [(i, text) for i, text in lines if text.strip()]
    if not code:
        return
    editor.beginUndoAction()
    try:
        if all(text.lstrip().startswith("#") for _, text in code):
            for i, text in code:
                width = 2 if text.lstrip().startswith("# ") else 1
                editor.deleteRange(editor.positionFromLine(i) + _indent_width(text), width)
        else:
            column = min(_indent_width(text) for _, text in code)
            for i, _text in code:
                # Target replacement, not insertText, which would collapse the selection.
                pos = editor.positionFromLine(i) + column  # indentation is ASCII: 1 byte per column
                editor.setTargetRange(pos, pos)
                editor.replaceTarget(2, "# ")
    finally:
        editor.endUndoAction()


def _selected_line_range(editor: "CodeEditor") -> tuple[int, int]:
    start, end = editor.selectionStart(), editor.selectionEnd()
    first, last = editor.lineFromPosition(start), editor.lineFromPosition(end)
    if last > first and end == editor.positionFromLine(last):
        last -= 1  # a selection ending at a line start does not include that line
    return first, last


def _indent_width(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))
