"""What the editor does as you type and move: brace matching and auto-indent (VS Code-like)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .themes import SCE_P_COMMENTLINE, SCE_P_OPERATOR

if TYPE_CHECKING:
    from .code_editor import CodeEditor

INDENT = 4
_BRACES = frozenset(b"()[]{}")
_BLANKS = frozenset(b" \t")
_BLOCK_ENDERS = (["return"], ["pass"], ["raise"], ["break"], ["continue"])


def highlight_braces(editor: CodeEditor) -> None:
    caret = editor.currentPos()
    # Like VS Code: the brace after the caret, else the one before it.
    for pos in (caret, editor.positionBefore(caret)):
        if pos < editor.length() and editor.charAt(pos) in _BRACES:
            match = editor.braceMatch(pos, 0)
            if match >= 0:
                editor.braceHighlight(pos, match)
            else:
                editor.braceBadLight(pos)
            return
    editor.braceHighlight(-1, -1)


def auto_indent(editor: CodeEditor) -> None:
    """After Enter, keep the previous line's indentation: one level more after a line ending
    in ':', one less after a statement that ends its block (return, pass, ...)."""
    line = editor.lineFromPosition(editor.currentPos())
    if line == 0:
        return
    indent = editor.lineIndentation(line - 1)
    if _opens_block(editor, line - 1):
        indent += INDENT
    elif editor.line_text(line - 1).split(maxsplit=1)[:1] in _BLOCK_ENDERS:
        indent = max(0, indent - INDENT)
    editor.setLineIndentation(line, indent)
    editor.gotoPos(editor.lineIndentPosition(line))


def _opens_block(editor: CodeEditor, index: int) -> bool:
    """Whether the line's code (ignoring a trailing comment, per the lexer) ends in ':'."""
    start, pos = editor.positionFromLine(index), editor.lineEndPosition(index)
    editor.colourise(start, pos)
    while pos > start:
        pos = editor.positionBefore(pos)
        if editor.styleAt(pos) == SCE_P_COMMENTLINE or editor.charAt(pos) in _BLANKS:
            continue
        return editor.charAt(pos) == ord(":") and editor.styleAt(pos) == SCE_P_OPERATOR
    return False
