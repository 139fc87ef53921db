"""The tabbed editor: one tab per open flow or workspace file, with save, dirty markers and
the unsaved-changes prompt; flows also get linting and completion.

A flow tab is titled with the flow's name and saves to ``flows/<name>.py``; a file tab (a
UTF-8 text file of ``files/``, see ``app/files``) is titled ``files/<name>``, saves to its own
path, is not linted, and is Python-highlighted only for a ``.py``. ``current_flow()`` and the
``saved`` signal concern flows only, so running, debugging and the visuals ignore file tabs.
A *root file* (``open_file(..., root=True)``, ``documents.OpenRootFile``) is a file tab for a
file at the workspace's root, ``requirements.txt``: titled with its bare name, saved to the root
and announced by ``rootFileSaved``. It reuses the file tab rather than being a page of its own
(``app/packages`` opens it): saving, dirty marker, prompt, Git reload and restore come with it.

A *page* (``open_page``) is a tab that is no document: the welcome page, a side-by-side diff.
It has no editor, is never dirty, and is not reopened at the next start. A page may be about a
flow (the diff of a flow, the welcome page's example): with it in front, ``current_flow()`` is
that flow, so Run (F5) and Debug (F6) run what the user is looking at."""

from __future__ import annotations

from typing import Callable

import shiboken6
from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTabWidget, QWidget

from engine_core import Workspace
from engine_core.analysis import Problem
from engine_core.errors import FlowdeskError
from engine_core.analysis.completion import complete
from engine_core.fileio import write_atomically

from .editor import CodeEditor
from .editor.code_editor import BREAKPOINT_MARGIN
from .editor.completion import typed_prefix
from .dialogs.unsaved import ask_save_changes
from .documents import FILES_PREFIX, ROOT_PREFIX, OpenFile, OpenFlow, OpenRootFile
from .analysis_service import analysis
from .linting import LintScheduler


class EditorTabs(QTabWidget):
    currentFlowChanged = Signal(object)  # flow name or None
    problemsChanged = Signal(str, list)  # flow name, [Problem]
    saved = Signal(str)  # flow name
    fileSaved = Signal(str)  # file name, relative to files/
    rootFileSaved = Signal(str)  # file name, relative to the workspace's root
    editorOpened = Signal(str, object)  # flow name, CodeEditor: a new flow tab

    def __init__(self, known_flows: Callable[[], list[str]], parent=None):
        super().__init__(parent)
        self.setObjectName("editorTabs")
        self.setTabsClosable(True)
        self.setMovable(True)
        self.setDocumentMode(True)
        self.tabCloseRequested.connect(self.close_tab)
        self.currentChanged.connect(lambda _: self.currentFlowChanged.emit(self.current_flow()))
        self._known_flows = known_flows
        self._open: dict[CodeEditor, OpenFlow | OpenFile] = {}
        self._pages: dict[QWidget, str] = {}  # page -> its key
        self._page_flows: dict[QWidget, str] = {}  # page -> the flow it is about, if any
        self.workspace: Workspace | None = None
        self.theme = "light"
        # Asked before unsaved work is dropped: tab titles -> "save" | "discard" | "cancel".
        self.ask_save_changes: Callable[[list[str]], str] = lambda names: ask_save_changes(self, names)
        # Reads a workspace file and opens it (``app/files`` sets it): (name, make current).
        self.file_opener: Callable[[str, bool], None] | None = None
        self.root_file_opener: Callable[[str, bool], None] | None = None  # the same for a root file
        # Connector record name -> type for lint and completion (``app/connectors`` sets it).
        self.connector_records: Callable[[], dict[str, str]] = dict

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
                                             self._known_flows, lambda p: self._apply_problems(open_flow, p), editor,
                                             lambda: self.connector_records())
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

    def open_file(self, name: str, text: str, current: bool = True, root: bool = False) -> CodeEditor:
        """A tab for workspace file ``name`` (``root``: at the workspace's root, not in files/)
        holding ``text`` (read by the caller, off the GUI thread); an open tab for it is shown as it is."""
        editor = self.file_editor(name, root)
        if editor is None:
            editor = CodeEditor(python=name.lower().endswith(".py"))
            editor.setMarginWidthN(BREAKPOINT_MARGIN, 0)  # no breakpoints: not a flow
            editor.set_theme(self.theme)
            editor.set_text(text)
            editor.setProperty("file", name)
            document = self._open[editor] = (OpenRootFile if root else OpenFile)(name, editor)
            editor.dirtyChanged.connect(lambda _dirty, e=editor: self._update_title(e))
            self.setTabToolTip(self.addTab(editor, document.title()), str(document.path(self.workspace)))
        if current:
            self.setCurrentWidget(editor)
            editor.setFocus()
        return editor

    def open_page(self, key: str, title: str, make: Callable[[], QWidget], tooltip: str = "",
                  flow: str | None = None) -> QWidget:
        """Show the page tab ``key``, made by ``make()`` the first time (one tab per key);
        ``flow``: the flow it is about (see the module's docstring)."""
        page = self.page(key)
        if page is None:
            page = make()
            self._pages[page] = key
            if flow is not None:
                self._page_flows[page] = flow
            index = self.addTab(page, title)
            if tooltip:
                self.setTabToolTip(index, tooltip)
        self.setCurrentWidget(page)
        return page

    def page(self, key: str) -> QWidget | None:
        return next((w for w, k in self._pages.items() if k == key), None)

    def close_page(self, key: str) -> None:
        page = self.page(key)
        if page is not None:
            self.close_tab(self.indexOf(page))

    def restore(self, keys: list[str], current: str | None) -> None:
        """Reopen the tabs of ``tab_keys()`` that still exist; files are read off the GUI
        thread and come last."""
        for key in keys:
            if key.startswith(FILES_PREFIX):
                if self.file_opener is not None and self._has_file(key[len(FILES_PREFIX):]):
                    self.file_opener(key[len(FILES_PREFIX):], key == current)
            elif key.startswith(ROOT_PREFIX) and self.root_file_opener is not None:  # it checks the file is there
                self.root_file_opener(key[len(ROOT_PREFIX):], key == current)
            elif self.workspace.has_flow(key):
                self.open_flow(key)
        if current and self.workspace.has_flow(current):  # a file's key is no flow name: it holds a '/'
            self.open_flow(current)

    def _has_file(self, name: str) -> bool:
        try:
            return self.workspace.file_path(name).is_file()
        except FlowdeskError:  # not a valid name (an edited session file)
            return False

    def _apply_problems(self, open_flow: OpenFlow, problems: list[Problem]) -> None:
        open_flow.editor.set_problems(problems)
        self.problemsChanged.emit(open_flow.name, problems)

    def linter_for(self, editor: CodeEditor) -> LintScheduler:
        return self._open[editor].linter

    def flow_of(self, editor: CodeEditor) -> str | None:
        """The flow the tab edits; None for a workspace file."""
        document = self._open[editor]
        return document.name if isinstance(document, OpenFlow) else None

    def title_of(self, editor: CodeEditor) -> str:
        """What the tab and the prompts call it: the flow's name, or files/<name>."""
        return self._open[editor].title()

    def _forget(self, editor: CodeEditor) -> None:
        """After its tab was removed: a flow's problems go with it."""
        document = self._open.pop(editor, None)
        if isinstance(document, OpenFlow):
            self.problemsChanged.emit(document.name, [])
        editor.deleteLater()

    def relint_all(self) -> None:
        for editor in self.editors():
            if self._open[editor].linter is not None:
                self._open[editor].linter.lint_now()

    def _complete(self, editor: CodeEditor) -> None:
        line, column = editor.cursor_position()
        source = editor.text()
        prefix = typed_prefix(source.splitlines()[line - 1][:column] if source else "")
        path = str(self.workspace.flow_path(self._open[editor].name))
        analysis().submit(complete, source, line, column, list(self._known_flows()), path, self.connector_records(),
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
        document = self._open[editor]
        write_atomically(document.path(self.workspace), editor.text())
        editor.mark_clean()
        self._update_title(editor)
        getattr(self, document.saved_signal).emit(document.name)  # saved, fileSaved or rootFileSaved
        return True

    def save_all(self) -> None:
        for editor in self.editors():
            if editor.is_dirty():
                self.save(editor)

    def close_tab(self, index: int) -> bool:
        editor = self.widget(index)
        if editor is None:
            return True
        if editor in self._pages:
            self.removeTab(index)
            del self._pages[editor]
            self._page_flows.pop(editor, None)
            editor.deleteLater()
            return True
        if editor.is_dirty():
            answer = self.ask_save_changes([self.title_of(editor)])
            if answer == "cancel":
                return False
            if answer == "save":
                self.save(editor)
        self.removeTab(index)
        self._forget(editor)
        return True

    def close_all(self) -> bool:
        """Before the window or workspace closes: one prompt for every unsaved tab."""
        dirty = [e for e in self.editors() if e.is_dirty()]
        if dirty:
            answer = self.ask_save_changes([self.title_of(e) for e in dirty])
            if answer == "cancel":
                return False
            if answer == "save":
                for editor in dirty:
                    self.save(editor)
        while self.count():
            widget = self.widget(0)
            self.removeTab(0)
            if self._pages.pop(widget, None) is not None:
                self._page_flows.pop(widget, None)
                widget.deleteLater()
            else:
                self._forget(widget)
        return True

    # -- renames, deletes -----------------------------------------------------------------
    def flow_renamed(self, old: str, new: str) -> None:
        index = self._index_of(old)
        if index >= 0:
            self._open[self.widget(index)].name = new
            self.widget(index).setProperty("flow", new)
            self._update_title(self.widget(index))
            self.setTabToolTip(index, str(self.workspace.flow_path(new)))

    def flow_deleted(self, name: str) -> None:
        editor = self.editor_for(name)
        if editor is not None:
            self.discard(editor)

    def discard(self, editor: CodeEditor) -> None:
        """Close the tab without asking: its file is gone."""
        self.removeTab(self.indexOf(editor))
        self._forget(editor)

    # -- queries --------------------------------------------------------------------------
    def editors(self) -> list[CodeEditor]:
        """The document tabs, in tab order (pages left out)."""
        return [w for w in map(self.widget, range(self.count())) if w in self._open]

    def current_editor(self) -> CodeEditor | None:
        """The current tab's editor; None when no tab or a page is current."""
        widget = self.currentWidget()
        return widget if widget in self._open else None

    def current_flow(self) -> str | None:
        """The flow of the current tab (a page's: the flow it is about); None for a workspace
        file or a page about no flow."""
        editor = self.current_editor()
        if editor is None:
            return self._page_flows.get(self.currentWidget())
        return self.flow_of(editor)

    def open_flow_names(self) -> list[str]:
        return [n for n in map(self.flow_of, self.editors()) if n is not None]

    def open_file_names(self) -> list[str]:
        return [d.name for d in map(self._open.get, self.editors()) if type(d) is OpenFile]

    def tab_keys(self) -> list[str]:
        """The open tabs as the session stores them: flow names, files/<name> and ./<root file>."""
        return [self._open[e].key() for e in self.editors()]

    def current_key(self) -> str | None:
        editor = self.current_editor()
        return self._open[editor].key() if editor is not None else None

    def editor_for(self, name: str) -> CodeEditor | None:
        """The editor of flow ``name``, if open."""
        index = self._index_of(name)
        return self.widget(index) if index >= 0 else None

    def file_editor(self, name: str, root: bool = False) -> CodeEditor | None:
        """The editor of workspace file ``name`` (relative to files/, or to the root), if open."""
        kind = OpenRootFile if root else OpenFile  # exactly: a root file is an OpenFile too
        return next((e for e, d in self._open.items() if type(d) is kind and d.name == name), None)

    def has_unsaved(self) -> bool:
        return any(e.is_dirty() for e in self.editors())

    def set_theme(self, theme: str) -> None:
        self.theme = theme
        for editor in self.editors():
            editor.set_theme(theme)

    def _index_of(self, name: str) -> int:
        editor = next((e for e, d in self._open.items() if isinstance(d, OpenFlow) and d.name == name), None)
        return self.indexOf(editor) if editor is not None else -1

    def _update_title(self, editor: CodeEditor) -> None:
        index = self.indexOf(editor)
        if index >= 0:
            title = self.title_of(editor)
            self.setTabText(index, f"● {title}" if editor.is_dirty() else title)

