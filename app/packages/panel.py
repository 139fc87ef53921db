"""The Packages panel: the workspace's requirements with their installed versions and states, an
Install button, pip's output as it comes, and the offer to install when ``requirements.txt``
changed.

Nothing here waits for the disk or for pip on the GUI thread: reading the state
(``engine_core.packages.status``) and installing run on pool threads (``run_in_background`` with
the panel as owner), and pip's lines come back one by one through ``call_on_gui_thread``. The
panel installs only when asked (its button, the offer's, or ``add_and_install``): an install
runs code from the internet on this machine, so a changed file is never enough."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (QFrame, QHBoxLayout, QLabel, QPlainTextEdit, QProgressBar, QPushButton, QSplitter,
                               QVBoxLayout, QWidget)

from engine_core import packages

from ..tasks import call_on_gui_thread, run_in_background
from ..window_layout import make_table
from .model import PackagesModel
from .watcher import RequirementsWatcher

LOG_LINES = 5000  # pip's output of a large install stays readable; install.log keeps it all
INSTALL_TIP = ("Install requirements.txt with pip into this workspace's own folder (.flowdesk/packages). "
               "Flowdesk's own packages keep their versions; flows use the new packages from their next run.")
NO_FILE = ("No requirements.txt in this workspace. Click Edit requirements.txt to list the Python packages "
           "your flows import, one per line in pip's format (e.g. PyYAML>=6), save, then click Install.")
EDIT_TIP = "Open requirements.txt in an editor tab (created with a short comment if missing); Ctrl+S saves it"


@dataclass(frozen=True)
class PackagesState:
    """What one read found: the file's contents hash (None without a file), the table's rows,
    and whether the file asks for something other than what is installed."""
    signature: str | None
    status: object  # engine_core.packages.PackagesStatus
    needs_install: bool


def read_state(root: Path) -> PackagesState:
    """On a pool thread: the requirements' state. The hash (not the time) decides whether the
    file changed, so saving it unchanged or touching it does not bring a dismissed offer back.
    A file naming nothing while nothing is installed (the new file's comment) asks for nothing."""
    try:
        signature = hashlib.sha256(packages.requirements_path(root).read_bytes()).hexdigest()
    except FileNotFoundError:
        signature = None
    status = packages.status(root)
    in_use = bool((packages.read_current(root) or {}).get("set"))
    return PackagesState(signature, status, packages.needs_install(root) and (bool(status.rows) or in_use))


def add_and_install(root: Path, requirements: list[str], on_line: Callable[[str], None]):
    """On a pool thread: add the lines (none to install the file as it is), then install."""
    for requirement in requirements:
        packages.add_requirement(root, requirement)
        on_line(f"Added {requirement} to requirements.txt")
    return packages.install(root, on_line=on_line)


def _shortened(line: str, width: int = 90) -> str:
    return line if len(line) <= width else line[:width - 1] + "…"


def to_install_text(status) -> str:
    count = len(status.missing)
    if not count:
        return "requirements.txt changed: packages to update"
    return f"requirements.txt changed: {count} package{'s' if count != 1 else ''} to install"


class PackagesPanel(QWidget):
    packages_changed = Signal()  # a new package set is in use: open editors relint
    offerChanged = Signal(str)  # the offer's text, "" when it went away
    installStarted = Signal()
    installFailed = Signal(str)  # the clear message (package and pip's reason)
    installFinished = Signal(str)  # a line for the status bar
    editRequested = Signal(object)  # open requirements.txt: at this row's line (a PackageRow), or None

    def __init__(self, root: Callable[[], Path | None], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("packagesPanel")
        self._root = root
        self._reads = 0  # reads started; a result of an older one than the last is dropped
        self.state: PackagesState | None = None
        self._dismissed: str | None = None  # the file's signature the user answered (Install / Not now)
        self.busy = False
        self._install_root: Path | None = None
        self._to_add: list[str] = []  # requirements asked for while an install ran
        self._answered = False  # the next read's file is the one an install just answered

        self.model = PackagesModel(self)
        self._build()
        self.watcher = RequirementsWatcher(self)
        self.watcher.changed.connect(self.refresh)
        self._update()

    def _build(self) -> None:
        self.offer_label = QLabel()
        self.offer_label.setObjectName("packagesOfferText")
        self.offer_install = QPushButton("Install")
        self.offer_install.setObjectName("packagesOfferInstall")
        self.offer_install.setToolTip(INSTALL_TIP)
        self.offer_install.clicked.connect(self.install_packages)
        self.offer_dismiss = QPushButton("Not now")
        self.offer_dismiss.setObjectName("packagesOfferDismiss")
        self.offer_dismiss.clicked.connect(self.dismiss_offer)
        self.offer_bar = QFrame()
        self.offer_bar.setObjectName("packagesOffer")
        # Amber, translucent: reads as a notice on the light and the dark theme alike.
        self.offer_bar.setStyleSheet("#packagesOffer { background: rgba(255, 193, 7, 0.16); "
                                     "border: 1px solid rgba(255, 160, 0, 0.55); border-radius: 3px; }")
        offer = QHBoxLayout(self.offer_bar)
        offer.setContentsMargins(6, 2, 6, 2)
        offer.addWidget(self.offer_label, 1)
        offer.addWidget(self.offer_install)
        offer.addWidget(self.offer_dismiss)
        self.offer_bar.hide()

        self.summary = QLabel()
        self.summary.setObjectName("packagesSummary")
        self.summary.setTextFormat(Qt.TextFormat.PlainText)
        self.summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("packagesProgress")
        self.progress.setRange(0, 0)  # pip does not say how far it is: a busy bar, not a percentage
        self.progress.setMaximumWidth(140)
        self.progress.setTextVisible(False)
        self.progress.hide()
        self.install_button = QPushButton("Install")
        self.install_button.setObjectName("packagesInstall")
        self.install_button.setToolTip(INSTALL_TIP)
        self.install_button.clicked.connect(self.install_packages)
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.edit_button = QPushButton("Edit requirements.txt")
        self.edit_button.setObjectName("packagesEdit")
        self.edit_button.setToolTip(EDIT_TIP)
        self.edit_button.clicked.connect(lambda: self.editRequested.emit(None))
        top = QHBoxLayout()
        top.addWidget(self.summary, 1)
        top.addWidget(self.progress)
        top.addWidget(self.edit_button)
        top.addWidget(self.install_button)
        top.addWidget(self.refresh_button)

        self.error = QLabel()
        self.error.setObjectName("packagesError")
        self.error.setTextFormat(Qt.TextFormat.PlainText)
        self.error.setWordWrap(True)
        self.error.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error.setStyleSheet("color: #d32f2f;")
        self.error.hide()

        self.view = make_table("packagesView", self.model)
        self.view.doubleClicked.connect(lambda index: self.editRequested.emit(self.model.row_at(index.row())))
        self.log = QPlainTextEdit()
        self.log.setObjectName("packagesLog")
        self.log.setReadOnly(True)
        self.log.setMaximumBlockCount(LOG_LINES)
        self.log.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.log.setPlaceholderText("pip's output appears here while packages install.")
        split = QSplitter(Qt.Orientation.Horizontal)
        split.addWidget(self.view)
        split.addWidget(self.log)
        split.setStretchFactor(0, 1)
        split.setStretchFactor(1, 1)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.offer_bar)
        layout.addLayout(top)
        layout.addWidget(self.error)
        layout.addWidget(split, 1)

    # -- reading --------------------------------------------------------------------------------
    def workspace_opened(self) -> None:
        """Another workspace (or the first): its file watched, its state read, no old offer kept."""
        root = self._root()
        self._dismissed = None
        self.state = None
        self.error.hide()
        if not self.busy:
            self.log.clear()
        self.watcher.watch(packages.requirements_path(root) if root is not None else None)
        self._update()  # "Reading…", and Edit requirements.txt usable at once
        self.refresh()

    def refresh(self) -> None:
        root = self._root()
        self._reads += 1
        if root is None:
            self.state = None
            self.model.set_rows([])
            self._set_offer("")
            self._update()
            return
        number = self._reads
        run_in_background(read_state, root, on_done=lambda state: self._read(number, state),
                          on_error=lambda message: self._read_failed(number, message), owner=self)

    def _read(self, number: int, state: PackagesState) -> None:
        if number != self._reads:
            return  # a newer read (perhaps of another workspace) is on its way
        self.state = state
        if self._answered:
            # After a failed install the file still differs from what is installed; the error
            # is on screen, an offer beside it would only repeat the question just answered.
            self._dismissed, self._answered = state.signature, False
        self.model.set_rows(state.status.rows)
        self._update()
        # Offered once per version of the file: after Install or Not now, only a new edit asks again.
        if state.needs_install and not self.busy and state.signature != self._dismissed:
            self._set_offer(to_install_text(state.status))
        elif not state.needs_install:
            self._set_offer("")

    def _read_failed(self, number: int, message: str) -> None:
        if number == self._reads:
            self._show_error(message)

    def showEvent(self, event) -> None:
        super().showEvent(event)
        self.refresh()  # a `flowdesk packages install` in a shell changes what is installed

    # -- the offer ------------------------------------------------------------------------------
    def _set_offer(self, text: str) -> None:
        if text == self.offer_label.text() and self.offer_bar.isVisible() == bool(text):
            return
        self.offer_label.setText(text)
        self.offer_bar.setVisible(bool(text))
        self._update()
        self.offerChanged.emit(text)

    @property
    def offer_text(self) -> str:
        return self.offer_label.text() if not self.offer_bar.isHidden() else ""

    def dismiss_offer(self) -> None:
        """Not now: asked again when the file changes."""
        if self.state is not None:
            self._dismissed = self.state.signature
        self._set_offer("")

    # -- installing -----------------------------------------------------------------------------
    def install_packages(self) -> None:
        """Install requirements.txt as it is (the Install buttons)."""
        if not self.busy:
            self._start_install()

    def add_and_install(self, requirement: str) -> None:
        """Add a line to requirements.txt and install (the lint quick fix). Asked for during an
        install, it is added and installed right after that one."""
        self._to_add.append(requirement)
        if not self.busy:
            self._start_install()

    def _start_install(self) -> None:
        root = self._root()
        if root is None:
            self._to_add.clear()
            return
        adding, self._to_add = self._to_add, []
        self.busy = True
        self._install_root = root
        if self.state is not None:
            self._dismissed = self.state.signature  # answered: the file as it is now
        self._set_offer("")
        self.error.hide()
        self.log.clear()
        self._update()
        self.installStarted.emit()

        def on_line(line: str) -> None:  # on the pool thread, while pip runs
            call_on_gui_thread(self._line, line, self)
        run_in_background(add_and_install, root, adding, on_line, on_done=self._installed,
                          on_error=self._install_failed, owner=self)

    def _line(self, line: str) -> None:
        self.log.appendPlainText(line.rstrip("\n"))
        if line.strip():
            self._status_line = _shortened(line.strip())
            self._update()

    def _installed(self, result) -> None:
        count = len(result.installed)
        text = (f"Installed {count} package{'s' if count != 1 else ''} in {result.seconds:.1f} s; "
                "flows use them from their next run")
        self._finish("Done: flows use the new packages from their next run")  # pip's summary is above
        self.installFinished.emit(text)
        self.packages_changed.emit()

    def _install_failed(self, message: str) -> None:
        self._finish("Install failed; the packages installed before stay in use")
        self._show_error(message)
        self.installFailed.emit(message)

    def _finish(self, line: str) -> None:
        self.busy = False
        self.log.appendPlainText(line)
        if self._install_root != self._root():
            self.log.clear()  # another workspace opened meanwhile: that install's log is not this one's
        self._update()
        if self._to_add:
            self._start_install()
        else:
            self._answered = True
            self.refresh()

    # -- showing --------------------------------------------------------------------------------
    def _show_error(self, message: str) -> None:
        self.error.setText(message)
        self.error.show()

    _status_line = ""

    def _update(self) -> None:
        self.progress.setVisible(self.busy)
        self.refresh_button.setEnabled(not self.busy)
        self.edit_button.setEnabled(self._root() is not None)
        has_file = self.state is not None and self.state.signature is not None
        self.install_button.setEnabled(not self.busy and has_file)
        self.install_button.setVisible(self.offer_bar.isHidden())  # one Install in sight, the offer's
        self.offer_install.setEnabled(not self.busy)
        if self.busy:
            text = f"Installing…  {self._status_line}" if self._status_line else "Installing…"
        elif self._root() is None:
            text = "No workspace open"
        elif self.state is None:
            text = "Reading requirements.txt…"
        elif not has_file:
            text = NO_FILE
        else:
            text = self._state_text(self.state)
        if not self.busy:
            self._status_line = ""
        self.summary.setText(text)
        self.summary.setToolTip(text)

    @staticmethod
    def _state_text(state: PackagesState) -> str:
        count = len(state.status.rows)
        listed = f"{count} requirement{'s' if count != 1 else ''}"
        if state.needs_install:
            missing = len(state.status.missing)
            todo = f"{missing} to install" if missing else "changed since the last install"
            return f"{listed}, {todo}: click Install"
        return f"{listed}, all installed"
