"""Find and replace over a Scintilla document (target-based search, UTF-8 byte positions)."""

from __future__ import annotations

from dataclasses import dataclass

from pyside6_scintilla import Scintilla, ScintillaEdit

_FIND = Scintilla.FindOption


@dataclass(frozen=True)
class Query:
    text: str
    case: bool = False
    word: bool = False
    regex: bool = False

    @property
    def flags(self) -> int:
        flags = 0
        if self.case:
            flags |= _FIND.MatchCase
        if self.word:
            flags |= _FIND.WholeWord
        if self.regex:
            # ECMAScript syntax (what Python users expect) instead of Scintilla's basic regexes.
            flags |= _FIND.RegExp | _FIND.Cxx11RegEx
        return flags

    @property
    def byte_length(self) -> int:
        return len(self.text.encode("utf-8"))


_STATUS_OK = Scintilla.Status.Ok


class InvalidRegex(ValueError):
    pass


def _search(editor: ScintillaEdit, query: Query, start: int, end: int) -> tuple[int, int] | None:
    """First match in [start, end) — or the last one when start > end — as (start, end)."""
    editor.setSearchFlags(query.flags)
    editor.setTargetRange(start, end)
    editor.setStatus(_STATUS_OK)
    found = editor.searchInTarget(query.byte_length, query.text)
    if found < 0:
        if query.regex and editor.status() == Scintilla.Status.RegEx:
            editor.setStatus(_STATUS_OK)
            raise InvalidRegex(query.text)
        return None
    return found, editor.targetEnd()


def find(editor: ScintillaEdit, query: Query, *, backwards: bool = False) -> tuple[int, int] | None:
    """Select the next (or previous) match after (before) the selection, wrapping around."""
    if not query.text:
        return None
    length = editor.length()
    if backwards:
        origin = editor.selectionStart()
        match = _search(editor, query, origin, 0) or _search(editor, query, length, origin)
    else:
        origin = editor.selectionEnd()
        # An empty regex match at the caret would be found forever: step past it.
        match = _search(editor, query, origin, length)
        if match and match == (origin, origin) and editor.selectionEmpty():
            match = _search(editor, query, editor.positionAfter(origin), length) if origin < length else None
        match = match or _search(editor, query, 0, origin)
    if match:
        _select(editor, *match)
    return match


def _select(editor: ScintillaEdit, start: int, end: int) -> None:
    # Unfold the match's line first, then scroll so both ends are visible.
    editor.ensureVisibleEnforcePolicy(editor.lineFromPosition(start))
    editor.setSel(start, end)
    editor.scrollRange(end, start)


def all_matches(editor: ScintillaEdit, query: Query) -> list[tuple[int, int]]:
    """Every match in document order (for "N of M")."""
    matches = []
    pos, length = 0, editor.length()
    while query.text and pos <= length:
        match = _search(editor, query, pos, length)
        if match is None:
            break
        matches.append(match)
        pos = match[1] if match[1] > match[0] else editor.positionAfter(match[1])
        if match[1] >= length:
            break
    return matches


def replace_selection(editor: ScintillaEdit, query: Query, replacement: str) -> bool:
    """Replace the selection if it is a match of the query (what Replace does before moving on)."""
    start, end = editor.selectionStart(), editor.selectionEnd()
    match = _search(editor, query, start, end) if query.text else None
    if match != (start, end):
        return False
    _replace_target(editor, query, replacement)
    editor.setSel(editor.targetStart(), editor.targetEnd())
    return True


def replace_all(editor: ScintillaEdit, query: Query, replacement: str) -> int:
    """Replace every match as one undo action; returns how many were replaced."""
    if not query.text:
        return 0
    count, pos = 0, 0
    editor.beginUndoAction()
    try:
        while pos <= editor.length():
            match = _search(editor, query, pos, editor.length())
            if match is None:
                break
            _replace_target(editor, query, replacement)
            count += 1
            pos = editor.targetEnd()
            if match[0] == match[1]:  # empty match: step over one character to progress
                if pos >= editor.length():
                    break
                pos = editor.positionAfter(pos)
    finally:
        editor.endUndoAction()
    return count


def _replace_target(editor: ScintillaEdit, query: Query, replacement: str) -> None:
    # The binding takes str (sent as UTF-8) with the length in bytes; bytes are refused.
    length = len(replacement.encode("utf-8"))
    if query.regex:
        editor.replaceTargetRE(length, replacement)  # \1 .. \9 refer to the groups
    else:
        editor.replaceTarget(length, replacement)
