"""Showing completion items (computed elsewhere) in Scintilla's autocompletion list."""

from __future__ import annotations

import re

from PySide6.QtCore import QObject
from pyside6_scintilla import Scintilla, ScintillaEdit

from engine_core.analysis import Completion

# Item separators that cannot occur in a Python name or a flow name.
SEPARATOR = "\x1e"
TYPE_SEPARATOR = "\x1f"  # Scintilla's default '?' could appear in a flow name
_CALLABLE_KINDS = {"function", "method", "flow"}
# Typing a quote right after `this.flow(` asks for flow names; after `this.connect(` (or
# `connector_type=`) for connector types and record names.
_FLOW_CALL_OPEN = re.compile(r"(?:\bthis\s*\.\s*(?:flow|connect|task)\s*\(|\bconnector_type\s*=)\s*$")
# Before a quote: where a name typed inside the quotes is completed whole (names may hold '-').
_NAME_ARGUMENT = re.compile(r"(?:\b(?:flow|connect|task)\s*\(|\bconnector_type\s*=)\s*$")


def wants_completion(line_before_caret: str, char: str) -> bool:
    """Whether the character just typed (the last of line_before_caret) should ask for items."""
    if char == ".":
        return True
    if char in "'\"":
        return bool(_FLOW_CALL_OPEN.search(line_before_caret[:-1]))
    return False


class CompletionList(QObject):
    """Shows items and, on selection, inserts the item's `insert` text (not its display name)
    over what was typed, then the signature as a calltip for callables."""

    def __init__(self, editor: ScintillaEdit):
        super().__init__(editor)
        self._editor = editor
        self._items: dict[str, Completion] = {}
        self._setup()

    def _setup(self) -> None:
        e = self._editor
        e.autoCSetSeparator(ord(SEPARATOR))
        e.autoCSetTypeSeparator(ord(TYPE_SEPARATOR))
        e.autoCSetIgnoreCase(True)
        e.autoCSetOrder(Scintilla.Ordering.Custom)  # the caller ranks the items
        e.autoCSetAutoHide(True)  # typing on narrows the list and closes it when nothing matches
        e.autoCSetMaxHeight(12)
        e.autoCompleteSelection.connect(self._selected)

    def show(self, items: list[Completion], typed_prefix_len: int) -> None:
        if not items:
            return
        self._items = {}
        for item in items:
            self._items.setdefault(item.name, item)  # the first (best ranked) of equal names
        self._editor.autoCShow(self._prefix_bytes(typed_prefix_len), SEPARATOR.join(self._items))

    def _prefix_bytes(self, typed_prefix_len: int) -> int:
        """Scintilla wants the typed length in bytes; the caller counts characters."""
        e = self._editor
        caret = e.currentPos()
        if not typed_prefix_len:
            return 0
        # positionRelative answers 0 past the document start; never reach before the line.
        start = max(e.positionFromLine(e.lineFromPosition(caret)), e.positionRelative(caret, -typed_prefix_len))
        return caret - start

    def _selected(self, start: int, text: str) -> None:
        item = self._items.get(text)
        if item is None:
            return
        e = self._editor
        # Cancelling inside the selection notification stops Scintilla inserting the name itself.
        e.autoCCancel()
        caret = e.currentPos()
        length = len(item.insert.encode("utf-8"))  # the binding takes str, lengths in bytes
        e.setTargetRange(start, caret)
        e.replaceTarget(length, item.insert)
        end = start + length
        e.setEmptySelection(end)
        if item.kind in _CALLABLE_KINDS and item.signature:
            e.callTipShow(end, item.signature)


def typed_prefix(before_cursor: str) -> str:
    """What completion replaces: the flow name, connector type or record name typed inside
    quotes, or the identifier."""
    for quote in ("'", '"'):
        head, sep, tail = before_cursor.rpartition(quote)
        if sep and _NAME_ARGUMENT.search(head) and quote not in tail:
            return tail
    end = len(before_cursor)
    start = end
    while start > 0 and (before_cursor[start - 1].isalnum() or before_cursor[start - 1] == "_"):
        start -= 1
    return before_cursor[start:end]
