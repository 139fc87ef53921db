"""The tabbed editor: one tab per open flow, with save, dirty markers, the unsaved-changes
prompt, linting and completion wired to each editor."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMessageBox, QTabWidget

from engine_core import Workspace
from engine_core.analysis import Problem
from engine_core.analysis.completion import complete
from engine_core.fileio import write_atomically

from .editor import CodeEditor
from .analysis_service import analysis
from .linting import LintScheduler


@dataclass(eq=False)
class OpenFlow:
    name: str
    editor: CodeEditor
    linter: LintScheduler


class EditorTabs(QTabWidget):
    currentFlowChanged = Signal(object)  # flow name or None
    problemsChanged = Signal(str, list)  # flow name, [Problem]
    saved = Signal(str)
    editorOpened = Signal(str, object)  # flow name, CodeEditor: a new tab

    def __init__(self, known_flows: Callable[[], list[str]], parent=None):
        super().__init__(parent)
        self.setObjectName("editorTabs")
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self.tabCloseRequested.connect(self.close_tab)
        self.currentChanged.connect(lambda _: self.currentFlowChanged.emit(self.current_flow()))
        self._known_flows = known_flows
        self._open: dict[CodeEditor, OpenFlow] = {}
        self.workspace: Workspace | None = None
        self.theme = "light"
        # Asked before unsaved work is dropped: names -> "save" | "discard" | "cancel".
        self.ask_save_changes: Callable[[list[str]], str] = self._ask_save_changes

    # -- opening --------------------------------------------------------------------------
    def open_flow(self, name: str, line: int | None = None) -> CodeEditor | None:
        index = self._index_of(name)
        if index < 0:
            path = self.workspace.flow_path(name)
            text = path.read_text(encoding="utf-8")
            editor = CodeEditor()
            editor.set_theme(self.theme)
            editor.set_text(text)
            open_flow = OpenFlow(name, editor, None)
            open_flow.linter = LintScheduler(editor.text, lambda: str(self.workspace.flow_path(open_flow.name)),
                                             self._known_flows, lambda p: self._apply_problems(open_flow, p), editor)
            editor.setProperty("flow", name)
            self._open[editor] = open_flow
            editor.dirtyChanged.connect(lambda _dirty, e=editor: self._update_title(e))
            editor.textEdited.connect(open_flow.linter.text_changed)
            editor.completionRequested.connect(lambda e=editor: self._complete(e))
            index = self.addTab(editor, name)
            self.setTabToolTip(index, str(path))
            open_flow.linter.lint_now()
            self.editorOpened.emit(name, editor)
        self.setCurrentIndex(index)
        editor = self.widget(index)
        if line is not None:
            editor.go_to_line(line)
        editor.setFocus()
        return editor

    def _apply_problems(self, open_flow: OpenFlow, problems: list[Problem]) -> None:
        open_flow.editor.set_problems(problems)
        self.problemsChanged.emit(open_flow.name, problems)

    def linter_for(self, editor: CodeEditor) -> LintScheduler:
        return self._open[editor].linter

    def flow_of(self, editor: CodeEditor) -> str:
        return self._open[editor].name

    def _forget(self, editor: CodeEditor) -> None:
        self._open.pop(editor, None)
        editor.deleteLater()

    def relint_all(self) -> None:
        for editor in self.editors():
            self._open[editor].linter.lint_now()

    def _complete(self, editor: CodeEditor) -> None:
        line, column = editor.cursor_position()
        source = editor.text()
        prefix = _typed_prefix(source.splitlines()[line - 1][:column] if source else "")
        path = str(self.workspace.flow_path(self._open[editor].name))
        analysis().submit(complete, source, line, column, list(self._known_flows()), path,
                          on_done=lambda items: self._show_completions(editor, source, items, len(prefix)))

    @staticmethod
    def _show_completions(editor: CodeEditor, source: str, items, prefix_len: int) -> None:
        # Not shown if the tab closed or the user typed on meanwhile (a new request follows).
        if items and shiboken6.isValid(editor) and editor.text() == source:
            editor.show_completions(items, prefix_len)

    # -- saving and closing ---------------------------------------------------------------
    def save(self, editor: CodeEditor | None = None) -> bool:
        editor = editor or self.current_editor()
        if editor is None:
            return False
        path = self.workspace.flow_path(self._open[editor].name)
        write_atomically(path, editor.text())
        editor.mark_clean()
        self._update_title(editor)
        self.saved.emit(self._open[editor].name)
        return True

    def save_all(self) -> None:
        for editor in self.editors():
            if editor.is_dirty():
                self.save(editor)

    def close_tab(self, index: int) -> bool:
        editor = self.widget(index)
        if editor is None:
            return True
        if editor.is_dirty():
            answer = self.ask_save_changes([self._open[editor].name])
            if answer == "cancel":
                return False
            if answer == "save":
                self.save(editor)
        self.removeTab(index)
        self.problemsChanged.emit(self._open[editor].name, [])
        self._forget(editor)
        return True

    def close_all(self) -> bool:
        """Before the window or workspace closes: one prompt for every unsaved flow."""
        dirty = [e for e in self.editors() if e.is_dirty()]
        if dirty:
            answer = self.ask_save_changes([self._open[e].name for e in dirty])
            if answer == "cancel":
                return False
            if answer == "save":
                for editor in dirty:
                    self.save(editor)
        while self.count():
            editor = self.widget(0)
            self.removeTab(0)
            self.problemsChanged.emit(self._open[editor].name, [])
            self._forget(editor)
        return True

    def _ask_save_changes(self, names: list[str]) -> str:
        listing = "\n".join(f"  • {n}" for n in names)
        box = QMessageBox(QMessageBox.Icon.Warning, "Unsaved changes",
                          f"These flows have unsaved changes:\n{listing}\n\nSave them before closing?",
                          QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                          | QMessageBox.StandardButton.Cancel, self)
        box.setDefaultButton(QMessageBox.StandardButton.Save)
        answer = box.exec()
        return {QMessageBox.StandardButton.Save: "save", QMessageBox.StandardButton.Discard: "discard"}.get(
            QMessageBox.StandardButton(answer), "cancel")

    # -- renames, deletes -----------------------------------------------------------------
    def flow_renamed(self, old: str, new: str) -> None:
        index = self._index_of(old)
        if index >= 0:
            self._open[self.widget(index)].name = new
            self.widget(index).setProperty("flow", new)
            self._update_title(self.widget(index))
            self.setTabToolTip(index, str(self.workspace.flow_path(new)))

    def flow_deleted(self, name: str) -> None:
        index = self._index_of(name)
        if index >= 0:
            editor = self.widget(index)
            self.removeTab(index)
            self.problemsChanged.emit(name, [])
            self._forget(editor)

    # -- queries --------------------------------------------------------------------------
    def editors(self) -> list[CodeEditor]:
        return [self.widget(i) for i in range(self.count())]

    def current_editor(self) -> CodeEditor | None:
        return self.currentWidget()

    def current_flow(self) -> str | None:
        editor = self.current_editor()
        return self._open[editor].name if editor is not None else None

    def open_flow_names(self) -> list[str]:
        return [self._open[e].name for e in self.editors()]

    def editor_for(self, name: str) -> CodeEditor | None:
        index = self._index_of(name)
        return self.widget(index) if index >= 0 else None

    def has_unsaved(self) -> bool:
        return any(e.is_dirty() for e in self.editors())

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        for editor in self.editors():
            editor.set_theme(theme)

    def _index_of(self, name: str) -> int:
        for i in range(self.count()):
            if self._open[self.widget(i)].name == name:
                return i
        return -1

    def _update_title(self, editor: CodeEditor) -> None:
        index = self.indexOf(editor)
        if index >= 0:
            name = self._open[editor].name
            self.setTabText(index, f"● {name}" if editor.is_dirty() else name)


def _typed_prefix(before_cursor: str) -> str:
    """What completion replaces: the flow name typed inside quotes, or the identifier."""
    for quote in ("'", '"'):
        head, sep, tail = before_cursor.rpartition(quote)
        if sep and head.rstrip().endswith("flow(") and quote not in tail:
            return tail
    end = len(before_cursor)
    start = end
    while start > 0 and (before_cursor[start - 1].isalnum() or before_cursor[start - 1] == "_"):
        start -= 1
    return before_cursor[start:end]
