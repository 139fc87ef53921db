"""Open workspace files (``files/``) as editor tabs of their own, with save.

Why not in the flows' editor tabs: ``EditorTabs`` keys every tab by flow name and saves to
``flows/<name>.py`` (and lints it as a flow), so a file there would be written to the wrong
place. Until it takes a document that knows its own path, files get this tab widget."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import shiboken6
from PySide6.QtCore import QEvent, QObject, Signal
from PySide6.QtGui import QKeyEvent, QKeySequence
from PySide6.QtWidgets import QTabWidget

from ..editor import CodeEditor


@dataclass(eq=False)
class OpenFile:
    name: str  # relative to files/
    workspace: object  # the workspace it was read from: saving writes there, even after a switch
    editor: CodeEditor


class FileTabs(QTabWidget):
    """One tab per open file; Ctrl+S in a file's editor saves that file (not the current flow)."""

    # OpenFile, now: the controller writes it off the GUI thread, or at once when a tab closes.
    saveRequested = Signal(object, bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("fileTabs")
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self.tabCloseRequested.connect(self.close_tab)
        self._open: dict[CodeEditor, OpenFile] = {}
        # Asked before unsaved work is dropped: names -> "save" | "discard" | "cancel".
        self.ask_save_changes: Callable[[list[str]], str] = lambda names: "discard"
        self._save_keys = _SaveKeys(self)

    def open_file(self, workspace, name: str, text: str, theme: str = "light") -> CodeEditor:
        existing = self.editor_for(name)
        if existing is not None:
            self.setCurrentWidget(existing)
            return existing
        editor = CodeEditor()
        editor.set_theme(theme)
        editor.set_text(text)
        editor.setProperty("file", name)
        self._open[editor] = OpenFile(name, workspace, editor)
        editor.dirtyChanged.connect(lambda _dirty, e=editor: self._update_title(e))
        editor.installEventFilter(self._save_keys)
        self.setTabToolTip(self.addTab(editor, name), f"files/{name}")
        self.setCurrentWidget(editor)
        editor.setFocus()
        return editor

    def save(self, editor: CodeEditor | None = None, now: bool = False) -> None:
        editor = editor or self.currentWidget()
        if editor is not None:
            self.saveRequested.emit(self._open[editor], now)

    def saved(self, open_file: OpenFile, text: str) -> None:
        """The text was written: clean, unless the person typed on meanwhile."""
        editor = open_file.editor
        if shiboken6.isValid(editor) and editor in self._open and editor.text() == text:
            editor.mark_clean()
            self._update_title(editor)

    def close_tab(self, index: int) -> bool:
        editor = self.widget(index)
        if editor is None:
            return True
        if editor.is_dirty():
            answer = self.ask_save_changes([self._open[editor].name])
            if answer == "cancel":
                return False
            if answer == "save":
                self.save(editor, now=True)
        self.removeTab(index)
        self._open.pop(editor, None)
        editor.deleteLater()
        return True

    def close_all(self) -> bool:
        dirty = [e for e in self.editors() if e.is_dirty()]
        if dirty:
            answer = self.ask_save_changes([self._open[e].name for e in dirty])
            if answer == "cancel":
                return False
            if answer == "save":
                for editor in dirty:
                    self.save(editor, now=True)
        while self.count():
            editor = self.widget(0)
            self.removeTab(0)
            self._open.pop(editor, None)
            editor.deleteLater()
        return True

    def editors(self) -> list[CodeEditor]:
        return [self.widget(i) for i in range(self.count())]

    def editor_for(self, name: str) -> CodeEditor | None:
        return next((e for e, f in self._open.items() if f.name == name), None)

    def open_files(self) -> list[OpenFile]:
        return [self._open[e] for e in self.editors()]

    def open_file_names(self) -> list[str]:
        return [self._open[e].name for e in self.editors()]

    def set_theme(self, theme: str) -> None:
        for editor in self.editors():
            editor.set_theme(theme)

    def _update_title(self, editor: CodeEditor) -> None:
        index = self.indexOf(editor)
        if index >= 0:
            name = self._open[editor].name
            self.setTabText(index, f"● {name}" if editor.is_dirty() else name)


class _SaveKeys(QObject):
    """Claims Ctrl+S while a file's editor has focus: the window's Save (a window-wide
    shortcut) would otherwise save the current flow instead."""

    def __init__(self, tabs: FileTabs):
        super().__init__(tabs)
        self._tabs = tabs

    def eventFilter(self, watched, event) -> bool:
        if event.type() in (QEvent.Type.ShortcutOverride, QEvent.Type.KeyPress) and isinstance(event, QKeyEvent) \
                and event.matches(QKeySequence.StandardKey.Save):
            event.accept()  # an accepted ShortcutOverride sends the key here, not to the shortcut
            if event.type() == QEvent.Type.KeyPress:
                self._tabs.save(watched)
            return True
        return False
