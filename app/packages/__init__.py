"""Third-party packages in the IDE: the Packages panel (the workspace's ``requirements.txt`` with
installed versions and states, Install with pip's output as it comes), and the offer to install
when the file changes (an edit here or elsewhere, a ``git pull``): a bar in the panel and an
Install button in the status bar. Nothing is installed until the user says so. The panel's "Edit
requirements.txt" button (or a double-click on a row) opens the file in an editor tab
(``editing.py``).

``install(window)`` uses only the window's public attributes (add_panel, bridge, workspace,
statusBar). The engine needs no call: its workers take up a new package set
themselves (engine_core/runtime/pool.py). Linting connects to ``window.packages.packages_changed``
to relint open editors once new modules are importable."""

from __future__ import annotations

from PySide6.QtWidgets import QMainWindow, QPushButton

from .editing import RequirementsEditing
from .model import COLUMNS, PackagesModel
from .panel import PackagesPanel

__all__ = ["install", "PackagesPanel", "PackagesModel", "COLUMNS"]

STATUS_MESSAGE_MS = 15000


def install(window: QMainWindow) -> PackagesPanel:
    """Add the Packages panel (with its View menu entry); returns it (also ``window.packages``).
    Installing twice returns the first panel."""
    existing = getattr(window, "packages", None)
    if existing is not None:
        return existing
    panel = PackagesPanel(lambda: window.workspace.root if window.workspace is not None else None)
    panel.dock = window.add_panel("Packages", panel)
    status_bar = window.statusBar()
    # The offer's button in the status bar: seen while another panel is in front.
    button = QPushButton("Install packages")
    button.setObjectName("packagesStatusInstall")
    button.clicked.connect(panel.install_packages)
    button.hide()
    status_bar.addPermanentWidget(button)
    panel.status_button = button

    def show_panel() -> None:
        panel.dock.show()
        panel.dock.raise_()
    panel.installStarted.connect(show_panel)  # also when a quick fix or the status bar started it

    def offer_changed(text: str) -> None:
        button.setVisible(bool(text))
        if text:
            status_bar.showMessage(text, STATUS_MESSAGE_MS)
            show_panel()
    panel.offerChanged.connect(offer_changed)

    panel.installFinished.connect(lambda text: status_bar.showMessage(text, STATUS_MESSAGE_MS))

    # The panel (in front) shows the message in red above pip's log; the status bar repeats it.
    # No message box: the install ran in the background while the user did something else.
    panel.installFailed.connect(lambda message: status_bar.showMessage(message, STATUS_MESSAGE_MS))
    editing = RequirementsEditing(window)  # also reopens the tab with the session
    panel.editRequested.connect(lambda row: editing.open(row=row))
    panel.editing = editing

    # The watcher brings the offer to install; the Git panel refreshes itself (app/git).
    window.tabs.rootFileSaved.connect(lambda name: status_bar.showMessage(f"Saved {name}", 3000))
    window.bridge.opened.connect(panel.workspace_opened)
    if window.workspace is not None:
        panel.workspace_opened()
    window.packages = panel
    return panel
