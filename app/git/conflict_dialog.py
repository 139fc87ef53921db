"""A pull that conflicts: the conflicting files, each with ours / theirs / merged views; the
user picks a version per file (or edits the merged text), then finishes the merge, or
aborts it to get back exactly what was there before the pull."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QDialog, QHBoxLayout, QLabel, QListWidget, QMessageBox, QPlainTextEdit,
                               QPushButton, QTabWidget, QVBoxLayout)

from engine_core.errors import FlowdeskError
from engine_core.vcs import WorkspaceRepo, conflicts


class ConflictDialog(QDialog):
    finished_merge = Signal(list)  # the paths the merge changed
    aborted = Signal()
    failed = Signal(str)

    def __init__(self, repo: WorkspaceRepo, parent=None):
        super().__init__(parent)
        self.setObjectName("gitConflictDialog")
        self.setWindowTitle("Pull conflicts")
        self.resize(1000, 640)
        self.repo = repo
        self.resolved: dict[str, str] = {}
        self.files = QListWidget()
        self.files.currentTextChanged.connect(self._show)
        self.views = QTabWidget()
        self.ours, self.theirs, self.merged = _text(True), _text(True), _text(False)
        for title, view in (("Ours (what you had)", self.ours), ("Theirs (what the pull brought)", self.theirs),
                            ("Merged (edit, then use it)", self.merged)):
            self.views.addTab(view, title)
        self.buttons = {text: QPushButton(text) for text in ("Use Ours", "Use Theirs", "Use Merged Text",
                                                             "Abort Merge", "Finish Merge")}
        self.buttons["Use Ours"].clicked.connect(lambda: self.choose("ours"))
        self.buttons["Use Theirs"].clicked.connect(lambda: self.choose("theirs"))
        self.buttons["Use Merged Text"].clicked.connect(lambda: self.choose("merged"))
        self.buttons["Abort Merge"].clicked.connect(self.abort)
        self.buttons["Finish Merge"].clicked.connect(self.finish)
        self._layout()
        self._fill()

    def _layout(self) -> None:
        intro = QLabel("The pull changed these files on both sides. Choose a version for each, then Finish "
                       "Merge; or Abort Merge to put everything back as it was before the pull.")
        intro.setWordWrap(True)
        middle = QHBoxLayout()
        middle.addWidget(self.files, 1)
        middle.addWidget(self.views, 3)
        choices = QHBoxLayout()
        for text in ("Use Ours", "Use Theirs", "Use Merged Text"):
            choices.addWidget(self.buttons[text])
        choices.addStretch(1)
        choices.addWidget(self.buttons["Abort Merge"])
        choices.addWidget(self.buttons["Finish Merge"])
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(middle, 1)
        layout.addLayout(choices)

    def _fill(self) -> None:
        remaining = conflicts.conflicts(self.repo.repository)
        self.files.clear()
        for path in remaining:
            self.files.addItem(path)
        if remaining:
            self.files.setCurrentRow(0)
        self.buttons["Finish Merge"].setEnabled(not remaining)
        for text in ("Use Ours", "Use Theirs", "Use Merged Text"):
            self.buttons[text].setEnabled(bool(remaining))

    def _show(self, path: str) -> None:
        if not path:
            return
        versions = conflicts.versions(self.repo.repository, path)
        self.ours.setPlainText(versions.ours if versions.ours is not None else "(deleted on your side)")
        self.theirs.setPlainText(versions.theirs if versions.theirs is not None else "(deleted by the pull)")
        self.merged.setPlainText(versions.merged or "")

    def current_path(self) -> str | None:
        item = self.files.currentItem()
        return item.text() if item else None

    def choose(self, choice: str) -> None:
        path = self.current_path()
        if path is None:
            return
        try:
            conflicts.resolve(self.repo.repository, path, choice,
                              self.merged.toPlainText() if choice == "merged" else None)
        except FlowdeskError as exc:
            QMessageBox.warning(self, "Cannot use this version", str(exc))
            return
        self.resolved[path] = choice
        self._fill()

    def finish(self) -> None:
        try:
            sha = self.repo.finish_merge()
            changed = self.repo.repository.repo.git.diff("--name-only", f"{sha}^1", sha).splitlines()
        except FlowdeskError as exc:
            self.failed.emit(str(exc))
            return
        self.finished_merge.emit(changed)
        self.accept()

    def abort(self) -> None:
        try:
            self.repo.abort_merge()
        except FlowdeskError as exc:
            self.failed.emit(str(exc))
            return
        self.aborted.emit()
        self.reject()


def _text(read_only: bool) -> QPlainTextEdit:
    view = QPlainTextEdit()
    view.setReadOnly(read_only)
    view.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
    view.setFont(QFont("monospace"))
    return view
