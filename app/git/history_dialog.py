"""The history of one flow: its commits, newest first; "Show this version" shows the text
then, "Restore this version" puts it back in the working copy (to be committed as an edit)."""

from __future__ import annotations

import time

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMessageBox,
                               QPlainTextEdit, QPushButton, QVBoxLayout)

from engine_core.errors import FlowdeskError
from engine_core.vcs import GitRepository


class HistoryDialog(QDialog):
    restored = Signal(str)  # path

    def __init__(self, repository: GitRepository, path: str, parent=None):
        super().__init__(parent)
        self.setObjectName("gitHistoryDialog")
        self.setWindowTitle(f"History of {path}")
        self.resize(900, 560)
        self.repository, self.path = repository, path
        self.commits = QListWidget()
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFont("monospace"))
        self.show_button = QPushButton("Show This Version")
        self.restore_button = QPushButton("Restore This Version")
        self.show_button.clicked.connect(self.show_version)
        self.restore_button.clicked.connect(self.restore_version)
        self.commits.currentRowChanged.connect(lambda _: self.show_version())
        for commit in repository.history(path):
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(commit.when))
            item = QListWidgetItem(f"{commit.sha[:8]}  {when}  {commit.author}: {commit.subject}")
            item.setData(256, commit.sha)
            self.commits.addItem(item)
        buttons = QHBoxLayout()
        buttons.addWidget(self.show_button)
        buttons.addWidget(self.restore_button)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel(f"{self.commits.count()} commit(s) touch {path}" if self.commits.count()
                                else f"{path} has no committed history yet"))
        layout.addWidget(self.commits, 1)
        layout.addLayout(buttons)
        layout.addWidget(self.text, 2)

    def selected_sha(self) -> str | None:
        item = self.commits.currentItem()
        return item.data(256) if item else None

    def show_version(self) -> None:
        sha = self.selected_sha()
        if sha:
            text = self.repository.show(self.path, sha)
            self.text.setPlainText(text if text is not None else f"({self.path} does not exist in {sha[:8]})")

    def restore_version(self) -> None:
        sha = self.selected_sha()
        if not sha:
            return
        try:
            self.repository.restore(self.path, sha)
        except FlowdeskError as exc:
            QMessageBox.warning(self, "Cannot restore", str(exc))
            return
        self.restored.emit(self.path)
