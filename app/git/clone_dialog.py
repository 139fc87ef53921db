"""File ▸ Clone Workspace: a URL (https, ssh, git:// or a folder path), a target folder,
a progress bar fed by GitPython's RemoteProgress from a background thread, and Cancel,
which stops git and removes the half-made folder."""

from __future__ import annotations

import threading
from pathlib import Path

import git
import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import (QDialog, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QLineEdit, QProgressBar,
                               QPushButton, QVBoxLayout)

from engine_core.vcs import GitRepository

from ..tasks import run_in_background


class _Relay(QObject):
    progressed = Signal(int, int, str)  # current, maximum, message; emitted from git's thread


_STAGES = {git.RemoteProgress.COUNTING: "Counting objects", git.RemoteProgress.COMPRESSING: "Compressing objects",
           git.RemoteProgress.RECEIVING: "Receiving objects", git.RemoteProgress.RESOLVING: "Resolving deltas",
           git.RemoteProgress.CHECKING_OUT: "Checking out files"}


class QtProgress(git.RemoteProgress):
    """RemoteProgress runs in the clone's thread; a queued signal carries it to the GUI."""

    def __init__(self, relay: _Relay):
        super().__init__()
        self.relay = relay

    def update(self, op_code, cur_count, max_count=None, message=""):
        stage = _STAGES.get(op_code & self.OP_MASK, "Working")
        try:
            self.relay.progressed.emit(int(cur_count or 0), int(max_count or 0), f"{stage}… {message}".strip())
        except RuntimeError:  # the dialog was closed while git still ran: nobody to tell
            pass


class CloneDialog(QDialog):
    cloned = Signal(str)  # the new workspace folder

    def __init__(self, parent=None, start_folder: str | None = None):
        super().__init__(parent)
        self.setObjectName("gitCloneDialog")
        self.setWindowTitle("Clone Workspace")
        self.resize(560, 200)
        self.cancel_event: threading.Event | None = None
        self.error: str | None = None
        self.url = QLineEdit(placeholderText="https://…, git@host:team/flows.git, or a folder path")
        self.folder = QLineEdit(str(Path(start_folder or Path.home())))
        self.name = QLineEdit(placeholderText="folder name (from the URL)")
        self.url.textChanged.connect(self._suggest_name)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        self.progress = QProgressBar()
        self.progress.setRange(0, 100)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.clone_button = QPushButton("Clone")
        self.cancel_button = QPushButton("Cancel")
        self.clone_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.relay = _Relay(self)
        self.relay.progressed.connect(self._progressed)
        self._layout(browse)

    def _layout(self, browse: QPushButton) -> None:
        form = QFormLayout()
        form.addRow("Repository URL", self.url)
        where = QHBoxLayout()
        where.addWidget(self.folder, 1)
        where.addWidget(browse)
        form.addRow("Into folder", where)
        form.addRow("Workspace name", self.name)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.clone_button)
        buttons.addWidget(self.cancel_button)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(buttons)

    def _suggest_name(self, url: str) -> None:
        tail = url.rstrip("/").replace(":", "/").rsplit("/", 1)[-1]
        self.name.setText(tail[:-4] if tail.endswith(".git") else tail)

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Clone into folder", self.folder.text())
        if folder:
            self.folder.setText(folder)

    def destination(self) -> Path:
        return Path(self.folder.text()).expanduser() / self.name.text().strip()

    def start(self) -> None:
        url, name = self.url.text().strip(), self.name.text().strip()
        if not url or not name:
            self.status.setText("Enter the repository URL and a folder name.")
            return
        self.cancel_event = threading.Event()
        self.clone_button.setEnabled(False)
        self.status.setText("Cloning…")
        dest = self.destination()
        run_in_background(GitRepository.clone, url, dest, QtProgress(self.relay), self.cancel_event,
                          on_done=lambda _repo: shiboken6.isValid(self) and self._done(dest),
                          on_error=lambda message: shiboken6.isValid(self) and self._failed(message))

    def cancel(self) -> None:
        if self.cancel_event is not None and not self.cancel_event.is_set():
            self.cancel_event.set()  # the clone ends with "clone cancelled" and closes the dialog
            self.status.setText("Cancelling…")
        elif self.cancel_event is None:
            self.reject()

    def _progressed(self, current: int, maximum: int, stage: str) -> None:
        if maximum:
            self.progress.setValue(int(100 * current / maximum))
        if stage:
            self.status.setText(stage)

    def _done(self, dest: Path) -> None:
        self.cancel_event = None
        self.progress.setValue(100)
        self.cloned.emit(str(dest))
        self.accept()

    def _failed(self, message: str) -> None:
        self.error = message
        cancelled = self.cancel_event is not None and self.cancel_event.is_set()
        self.cancel_event = None
        self.clone_button.setEnabled(True)
        self.progress.setValue(0)
        self.status.setText(message)
        if cancelled:
            self.reject()
