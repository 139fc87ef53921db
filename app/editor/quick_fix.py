"""Quick fixes, as in VS Code: Ctrl+. on a line with a fixable problem (or a click on its marker
in the problems margin) opens a small menu of fixes at the caret; the Problems panel's context
menu offers the same fixes. A fix is data from the linter (``engine_core.analysis.problems.
QuickFix``); what it does is decided here, by its ``kind``.

``add_requirement`` ("Add PyYAML to requirements.txt and install") goes to the Packages panel
(``window.packages.add_and_install``), which adds the line and installs in the background. A
window without that panel still gets the line added, and the status bar says how to install.

The editor side is attached to every editor by its problem overlay (``QuickFixes``);
``install(window)`` adds the Problems panel's menu and relints open flows after an install."""

from __future__ import annotations

from typing import Callable

import shiboken6
from PySide6.QtCore import QModelIndex, QObject, QPoint, Qt
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import QMainWindow, QMenu, QWidget
from pyside6_scintilla import ScintillaEdit

from engine_core import packages
from engine_core.analysis import Problem
from engine_core.analysis.problems import QuickFix
from engine_core.errors import FlowdeskError

SHORTCUT = "Ctrl+."  # VS Code's Quick Fix key
MENU_NAME = "quickFixMenu"
STATUS_MESSAGE_MS = 15000


def fixes_of(problems: list[Problem]) -> list[QuickFix]:
    """The distinct fixes of ``problems``, in their order (two imports of one missing module
    offer one fix)."""
    return list(dict.fromkeys(problem.fix for problem in problems if problem.fix is not None))


def fix_menu(fixes: list[QuickFix], host: QWidget, parent: QWidget) -> QMenu:
    """A menu with one entry per fix (or a disabled "No quick fixes available"); choosing an
    entry applies it for ``host``'s window."""
    menu = QMenu(parent)
    menu.setObjectName(MENU_NAME)
    menu.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if not fixes:
        menu.addAction("No quick fixes available").setEnabled(False)
    for fix in fixes:
        action = menu.addAction(fix.title)
        action.triggered.connect(lambda _checked=False, f=fix: apply_fix(f, host))
    if fixes:
        menu.setActiveAction(menu.actions()[0])  # Enter takes the first, as in VS Code
    return menu


def apply_fix(fix: QuickFix, host: QWidget) -> None:
    """Do what ``fix`` says for the window ``host`` is in."""
    window = host.window()
    if fix.kind == "add_requirement":
        _add_requirement(window, fix.argument)


def _add_requirement(window: QWidget, requirement: str) -> None:
    panel = getattr(window, "packages", None)
    if panel is not None:
        panel.add_and_install(requirement)
        return
    # No Packages panel in this window: add the line; installing is left to the user.
    workspace = getattr(window, "workspace", None)
    if workspace is None:
        return
    try:
        packages.add_requirement(workspace.root, requirement)
    except (OSError, FlowdeskError) as exc:
        if hasattr(window, "show_error"):
            window.show_error(f"Could not add {requirement} to requirements.txt: {exc}")
        return
    if isinstance(window, QMainWindow):
        window.statusBar().showMessage(
            f"Added {requirement} to requirements.txt; install with: flowdesk packages install -w {workspace.root}",
            STATUS_MESSAGE_MS)


class QuickFixes(QObject):
    """One editor's quick fixes: Ctrl+. and clicks on the problems margin."""

    def __init__(self, editor: ScintillaEdit, problems_at_line: Callable[[int], list[Problem]], margin: int):
        super().__init__(editor)
        self._editor = editor
        self._problems_at_line = problems_at_line
        self._margin = margin
        self.menu: QMenu | None = None  # the menu last shown (tests look at it)
        # Connected afterwards: PySide6 6.11 drops a context given together with a slot.
        shortcut = QShortcut(QKeySequence(SHORTCUT), editor, context=Qt.ShortcutContext.WidgetWithChildrenShortcut)
        shortcut.activated.connect(self.show_menu)
        editor.setMarginSensitiveN(margin, True)
        editor.marginClicked.connect(self._margin_clicked)

    def fixes_at_line(self, line: int) -> list[QuickFix]:
        """The fixes of the problems on the 1-based line."""
        return fixes_of(self._problems_at_line(line))

    def show_menu(self, line: int | None = None) -> QMenu:
        """The fixes of the caret's line (or ``line``) in a menu under the caret."""
        e = self._editor
        position = e.currentPos() if line is None else e.positionFromLine(line - 1)
        line = e.lineFromPosition(position) + 1
        point = QPoint(e.pointXFromPosition(position), e.pointYFromPosition(position) + e.textHeight(line - 1))
        if self.menu is not None and shiboken6.isValid(self.menu):
            self.menu.close()
        self.menu = fix_menu(self.fixes_at_line(line), e, e)
        self.menu.popup(e.viewport().mapToGlobal(point))
        return self.menu

    def _margin_clicked(self, position: int, _modifiers: int, margin: int) -> None:
        if margin == self._margin:
            line = self._editor.lineFromPosition(position) + 1
            if self.fixes_at_line(line):
                self.show_menu(line)


# -- the window: the Problems panel and relinting after an install --------------------------

def install(window: QMainWindow) -> None:
    """The Problems panel's context menu with the row's fixes; open flows relint once a new
    package set is in use (``window.packages.packages_changed``, if the panel is there)."""
    view = window.problems_view
    if view.property("quickFixes"):
        return  # installed already
    view.setProperty("quickFixes", True)
    view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
    view.customContextMenuRequested.connect(lambda point: _problems_menu(window, point))
    panel = getattr(window, "packages", None)
    if panel is not None and hasattr(panel, "packages_changed"):
        panel.packages_changed.connect(window.tabs.relint_all)


def problem_at(window: QMainWindow, index: QModelIndex) -> Problem | None:
    """The Problem a row of the Problems panel shows."""
    model = window.problems_model
    if not index.isValid():
        return None
    flow = index.data(model.FlowRole)
    line = index.data(model.LineRole)
    message = model.index(index.row(), model.COLUMNS.index("Message")).data()
    return next((p for p in model.problems(flow) if p.line == line and p.message == message), None)


def _problems_menu(window: QMainWindow, point: QPoint) -> None:
    view = window.problems_view
    problem = problem_at(window, view.indexAt(point))
    if problem is None:
        return
    menu = fix_menu(fixes_of([problem]), view, view)
    menu.popup(view.viewport().mapToGlobal(point))
