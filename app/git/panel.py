"""The Git panel's widgets: branch and ahead/behind, the changed files (a click opens the
file's side-by-side diff as a tab of the editor area, Enter or a double-click also moves the
focus there), stage/unstage, a commit message (Ctrl+Enter commits), and buttons for
fetch, pull, push, branches and a flow's history. It only shows and asks; the controller
does the work off the GUI thread."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (QAbstractItemView, QHBoxLayout, QHeaderView, QLabel, QMenu, QPlainTextEdit,
                               QPushButton, QTableView, QToolButton, QVBoxLayout, QWidget)

from engine_core.vcs.status import StatusSnapshot

from .files_model import ChangedFilesModel


class GitPanel(QWidget):
    refreshRequested = Signal()
    fetchRequested = Signal()
    pullRequested = Signal()
    pushRequested = Signal()
    commitRequested = Signal(str)
    stageRequested = Signal(list)
    unstageRequested = Signal(list)
    fileSelected = Signal(str)  # clicked: show its diff
    fileActivated = Signal(str)  # Enter or double-click: show its diff and go there
    historyRequested = Signal(str)
    switchRequested = Signal(str, bool)  # branch, create
    newBranchRequested = Signal()
    initRequested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("gitPanel")
        self.model = ChangedFilesModel(self)
        self.branch_label = QLabel("No repository")
        self.branch_label.setObjectName("gitBranchLabel")
        self.message_label = QLabel("")
        self.message_label.setWordWrap(True)
        self.buttons = {name: _button(name, signal) for name, signal in (
            ("Refresh", self.refreshRequested), ("Fetch", self.fetchRequested), ("Pull", self.pullRequested),
            ("Push", self.pushRequested), ("Init Repository", self.initRequested))}
        self.branch_button = QToolButton(text="Branch")
        self.branch_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.branch_menu = QMenu(self.branch_button)
        self.branch_button.setMenu(self.branch_menu)
        self.files = self._files_view()
        self.stage_button = QPushButton("Stage")
        self.unstage_button = QPushButton("Unstage")
        self.history_button = QPushButton("History…")
        self.stage_button.clicked.connect(lambda: self.stageRequested.emit(self.selected_paths()))
        self.unstage_button.clicked.connect(lambda: self.unstageRequested.emit(self.selected_paths()))
        self.history_button.clicked.connect(self._history)
        self.commit_message = QPlainTextEdit()
        self.commit_message.setObjectName("gitCommitMessage")
        self.commit_message.setPlaceholderText("Commit message (Ctrl+Enter commits)")
        self.commit_message.setMaximumHeight(80)
        self.commit_button = QPushButton("Commit")
        self.commit_button.clicked.connect(self.request_commit)
        for keys in ("Ctrl+Return", "Ctrl+Enter"):
            shortcut = QShortcut(QKeySequence(keys), self.commit_message, context=Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self.request_commit)
        self._layout()
        self.set_repository(False)

    def _files_view(self) -> QTableView:
        view = QTableView()
        view.setObjectName("gitFiles")
        view.setModel(self.model)
        view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        view.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        view.verticalHeader().hide()
        view.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        view.horizontalHeader().setStretchLastSection(True)
        view.clicked.connect(lambda index: self._select(index.row()))
        view.activated.connect(lambda index: self._select(index.row(), activate=True))
        return view

    def _layout(self) -> None:
        # The branch line wraps on its own row, and compact buttons keep the dock (tabbed with
        # the Explorer) narrow, leaving the width to the editor.
        self.branch_label.setWordWrap(True)
        top = QHBoxLayout()
        top.addWidget(self.branch_button)
        for button in self.buttons.values():
            top.addWidget(button)
        top.addStretch(1)
        file_buttons = QHBoxLayout()
        for button in (self.stage_button, self.unstage_button, self.history_button):
            file_buttons.addWidget(button)
        file_buttons.addStretch(1)
        column = QVBoxLayout(self)
        column.setContentsMargins(2, 2, 2, 2)
        column.addWidget(self.branch_label)
        column.addLayout(top)
        column.addWidget(self.message_label)
        column.addWidget(self.files, 1)
        column.addLayout(file_buttons)
        commit_row = QHBoxLayout()
        commit_row.addWidget(self.commit_message, 1)
        commit_row.addWidget(self.commit_button)
        column.addLayout(commit_row)

    # -- showing ----------------------------------------------------------------------------
    def set_repository(self, is_repository: bool) -> None:
        for widget in (*self.buttons.values(), self.branch_button, self.files, self.stage_button,
                       self.unstage_button, self.history_button, self.commit_message, self.commit_button):
            widget.setEnabled(is_repository)
        self.buttons["Refresh"].setEnabled(True)
        self.buttons["Init Repository"].setVisible(not is_repository)
        self.buttons["Init Repository"].setEnabled(not is_repository)
        if not is_repository:
            self.branch_label.setText("Not a Git repository")
            self.model.set_files([])

    def set_snapshot(self, snapshot: StatusSnapshot) -> None:
        self.set_repository(True)
        self.branch_label.setText(_branch_text(snapshot))
        self.model.set_files(snapshot.files)

    def set_branches(self, current: str | None, local: list[str], remote: list[str]) -> None:
        self.branch_menu.clear()
        for name in local:
            action = self.branch_menu.addAction(("✓ " if name == current else "   ") + name)
            action.triggered.connect(lambda _=False, n=name: self.switchRequested.emit(n, False))
        fresh = [r for r in remote if r.split("/", 1)[-1] not in local]
        if fresh:
            self.branch_menu.addSeparator()
            for name in fresh:
                action = self.branch_menu.addAction(f"   {name}")
                action.triggered.connect(lambda _=False, n=name.split("/", 1)[-1]: self.switchRequested.emit(n, False))
        self.branch_menu.addSeparator()
        self.branch_menu.addAction("New Branch…").triggered.connect(lambda _=False: self.newBranchRequested.emit())

    def show_message(self, text: str) -> None:
        self.message_label.setText(text)

    def set_busy(self, busy: bool) -> None:
        for name in ("Fetch", "Pull", "Push"):
            self.buttons[name].setEnabled(not busy)
        self.commit_button.setEnabled(not busy)

    # -- asking -----------------------------------------------------------------------------
    def selected_paths(self) -> list[str]:
        rows = sorted({index.row() for index in self.files.selectionModel().selectedRows()})
        return [self.model.file_at(r).path for r in rows if self.model.file_at(r)]

    def select_path(self, path: str) -> bool:
        row = self.model.row_of(path)
        if row < 0:
            return False
        self.files.selectRow(row)
        self._select(row)
        return True

    def request_commit(self) -> None:
        message = self.commit_message.toPlainText().strip()
        if not message:
            self.show_message("Write a commit message first: say what changed.")
            return
        self.commitRequested.emit(message)

    def _select(self, row: int, activate: bool = False) -> None:
        entry = self.model.file_at(row)
        if entry is not None:
            (self.fileActivated if activate else self.fileSelected).emit(entry.path)

    def _history(self) -> None:
        paths = self.selected_paths()
        if paths:
            self.historyRequested.emit(paths[0])
        else:
            self.historyRequested.emit("")


def _button(text: str, signal) -> QToolButton:
    button = QToolButton(text=text)
    button.setObjectName(f"git{text.replace(' ', '')}Button")
    button.clicked.connect(lambda: signal.emit())
    return button


def _branch_text(snapshot: StatusSnapshot) -> str:
    if snapshot.detached:
        return f"Detached HEAD at {snapshot.head[:8]} — switch to a branch to pull, push or commit"
    text = snapshot.branch or "(no branch)"
    if snapshot.head is None:
        text += " (no commits yet)"
    if snapshot.upstream:
        text += f" → {snapshot.upstream}  ↑{snapshot.ahead} ↓{snapshot.behind}"
    else:
        text += "  (not pushed yet)"
    if snapshot.merging:
        text += "  — MERGE IN PROGRESS: resolve or abort the conflicts"
    return text
