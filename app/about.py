"""Help ▸ About Flowdesk: the version and the licences of Flowdesk and of what it bundles, and
the Help menu (Welcome, About). The licence texts, when the app carries them
(``resources/app/licenses/``), open inside the dialog."""

from __future__ import annotations

import html
import platform
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QLabel, QTextBrowser, QVBoxLayout

from engine_core import version as flowdesk_version

from .icons import resources_dir
from .welcome import show_welcome

if TYPE_CHECKING:
    from .main_window import MainWindow

# (what, distribution to read the version of, licence). Scintilla and Lexilla carry the
# HPND-style Scintilla licence; the pyside6-scintilla binding itself is MIT.
COMPONENTS = (
    ("Qt 6 and PySide6", "PySide6-Essentials", "LGPL-3.0"),
    ("Shiboken 6", "shiboken6", "LGPL-3.0"),
    ("Scintilla (through pyside6-scintilla, MIT)", "pyside6-scintilla", "Scintilla licence (HPND-style)"),
    ("Lexilla", "lexilla", "Scintilla licence (HPND-style)"),
    ("SQLAlchemy", "SQLAlchemy", "MIT"),
    ("Alembic", "alembic", "MIT"),
    ("Mako", "Mako", "MIT"),
    ("MarkupSafe", "MarkupSafe", "BSD-3-Clause"),
    ("debugpy", "debugpy", "MIT"),
    ("Jedi", "jedi", "MIT"),
    ("Parso", "parso", "MIT"),
    ("Pyflakes", "pyflakes", "MIT"),
    ("GitPython", "GitPython", "BSD-3-Clause"),
    ("gitdb", "gitdb", "BSD-3-Clause"),
    ("smmap", "smmap", "BSD-3-Clause"),
    ("psycopg", "psycopg", "LGPL-3.0"),
    ("platformdirs", "platformdirs", "MIT"),
    ("keyring", "keyring", "MIT"),
    ("Uvicorn", "uvicorn", "BSD-3-Clause"),
    ("Starlette", "starlette", "BSD-3-Clause"),
    ("croniter", "croniter", "MIT"),
    ("AsyncSSH", "asyncssh", "EPL-2.0 or GPL-2.0-or-later"),
    ("Python", None, "PSF-2.0"),
)


def licence_files() -> list[Path]:
    folder = resources_dir() / "app" / "licenses"
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


def install_help_menu(window: "MainWindow") -> None:
    menu = window.menuBar().addMenu("&Help")
    window.add_action(menu, "Welcome", lambda: show_welcome(window), name="welcomeAction")
    window.add_action(menu, "About Flowdesk", lambda: show_about(window), name="aboutAction")


def show_about(window) -> "AboutDialog":
    """Open the About dialog without blocking (``open()``: no nested event loop)."""
    dialog = AboutDialog(window)
    dialog.open()
    return dialog


class AboutDialog(QDialog):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Flowdesk")
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        layout = QVBoxLayout(self)
        self.version_label = QLabel(f"<h2>Flowdesk {html.escape(flowdesk_version())}</h2>"
                                    "A desktop IDE and local engine for Python automation flows.<br>"
                                    "Flowdesk is free software under the MIT licence.")
        self.version_label.setObjectName("aboutVersion")
        layout.addWidget(self.version_label)
        self.licences = QTextBrowser()
        self.licences.setObjectName("aboutLicences")
        self.licences.setOpenLinks(False)
        self.licences.anchorClicked.connect(self._link)
        layout.addWidget(self.licences)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 480)
        self.show_components()

    def show_components(self) -> None:
        rows = "".join(
            f"<tr><td>{html.escape(what)}</td><td>{html.escape(_version_of(dist))}</td>"
            f"<td>{html.escape(licence)}</td></tr>" for what, dist, licence in COMPONENTS)
        files = licence_files()
        texts = ("<p>Full licence texts:</p><ul>" + "".join(
            f"<li><a href='licence:{html.escape(p.name)}'>{html.escape(p.name)}</a></li>" for p in files) + "</ul>"
                 if files else "")
        self.licences.setHtml(
            "<p><b>Flowdesk</b> — MIT licence.</p><p>Flowdesk uses these components:</p>"
            "<table cellspacing='0' cellpadding='3'><tr><th align='left'>Component</th>"
            f"<th align='left'>Version</th><th align='left'>Licence</th></tr>{rows}</table>{texts}")

    def _link(self, url: QUrl) -> None:
        if url.scheme() == "licence":
            path = next((p for p in licence_files() if p.name == url.path()), None)
            if path is not None:
                text = path.read_text(encoding="utf-8", errors="replace")
                self.licences.setHtml(f"<p><a href='back:'>← All components</a></p>"
                                      f"<pre>{html.escape(text)}</pre>")
        elif url.scheme() == "back":
            self.show_components()


def _version_of(dist: str | None) -> str:
    if dist is None:
        return platform.python_version()
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""
