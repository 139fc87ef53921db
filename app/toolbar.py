"""The main window's menus (File, Edit, Run, View) and its toolbar: icon-only buttons from
``resources/icons`` in the theme's colours, each tooltip naming the action and its key
("Run Flow (F5)"). Other features (the debugger, Git, the visuals) add their own entries."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QToolBar

from . import themes
from .icons import themed_icon

if TYPE_CHECKING:
    from .main_window import MainWindow

# Toolbar action (objectName) -> icon file in resources/icons (without .svg).
TOOLBAR_ICONS = {
    "newFlowAction": "new-flow", "saveAction": "save", "runAction": "run", "stopAction": "stop",
    "debugAction": "debug", "continueAction": "continue", "stepOverAction": "step-over",
    "stepInAction": "step-into", "stepOutAction": "step-out", "stopDebugAction": "stop-debug",
}


def build_menus(window: "MainWindow") -> None:
    """File, Edit, Run and View menus, and the toolbar with New Flow, Save, Run and Stop."""
    add = window.add_action
    bar = window.menuBar()
    file_menu = bar.addMenu("&File")
    new_flow = add(file_menu, "New Flow…", window.new_flow, QKeySequence.StandardKey.New, "newFlowAction")
    add(file_menu, "Open Workspace…", window.choose_workspace, QKeySequence.StandardKey.Open)
    window.recent_menu = file_menu.addMenu("Open Recent")
    window.recent_menu.aboutToShow.connect(lambda: _fill_recent_menu(window))
    file_menu.addSeparator()
    window.save_action = add(file_menu, "Save", window.save, QKeySequence.StandardKey.Save, "saveAction")
    add(file_menu, "Save All", window.tabs.save_all, "Ctrl+Alt+S")
    add(file_menu, "Close Tab", window.close_current_tab, QKeySequence.StandardKey.Close)
    file_menu.addSeparator()
    add(file_menu, "Quit", window.close, QKeySequence.StandardKey.Quit)

    # The editor owns Ctrl+F/H/G and Ctrl+/ (focused-widget shortcuts); the menu shows them
    # as text only, since the same key on a window-wide action would make both ambiguous.
    edit_menu = bar.addMenu("&Edit")
    for text, call in (("Find\tCtrl+F", lambda e: e.show_find(False)), ("Replace\tCtrl+H", lambda e: e.show_find(True)),
                       ("Go to Line…\tCtrl+G", lambda e: e.prompt_go_to_line()),
                       ("Toggle Comment\tCtrl+/", lambda e: e.toggle_comment())):
        add(edit_menu, text, lambda call=call: _with_editor(window, call))

    run_menu = bar.addMenu("&Run")
    window.run_action = add(run_menu, "Run Flow", window.run_current, "F5", "runAction")
    window.stop_action = add(run_menu, "Stop", window.stop_run, "Shift+F5", "stopAction")

    view_menu = window.view_menu = bar.addMenu("&View")
    for dock in (window.explorer_dock, window.problems_dock, window.executions_dock, window.log_dock,
                 window.messages_dock):
        view_menu.addAction(dock.toggleViewAction())
    view_menu.addSeparator()
    group = QActionGroup(window)
    window.theme_actions = {}
    for name in themes.THEMES:
        action = QAction(f"{name.title()} Theme", window, checkable=True)
        action.triggered.connect(lambda _checked=False, n=name: window.apply_theme(n))
        group.addAction(action)
        view_menu.addAction(action)
        window.theme_actions[name] = action

    toolbar = window.toolbar = window.addToolBar("Main")
    toolbar.setObjectName("mainToolbar")
    toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)  # the name shows on hover
    toolbar.setIconSize(QSize(20, 20))
    for action in (new_flow, window.save_action, None, window.run_action, window.stop_action):
        toolbar.addSeparator() if action is None else toolbar.addAction(action)


def dress_toolbar(toolbar: QToolBar, theme: str) -> None:
    """Give every toolbar action its icon in ``theme``'s colours and a tooltip with its key.
    Called again on a theme change, and after features added their actions."""
    for action in toolbar.actions():
        if action.isSeparator():
            continue
        if icon := TOOLBAR_ICONS.get(action.objectName()):
            action.setIcon(themed_icon(icon, theme))
        action.setToolTip(tooltip(action))


def tooltip(action: QAction) -> str:
    """"Run Flow (F5)": the action's name and its key — the shortcut, or the key a menu shows
    after a tab when another widget owns it ("Continue\\tF5")."""
    name, _, hint = action.text().partition("\t")
    key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText) or hint
    name = name.replace("&", "").rstrip("…")
    return f"{name} ({key})" if key else name


def _with_editor(window: "MainWindow", fn) -> None:
    editor = window.tabs.current_editor()
    if editor is not None:
        fn(editor)


def _fill_recent_menu(window: "MainWindow") -> None:
    menu = window.recent_menu
    menu.clear()
    for path in window.session.recent_workspaces():
        menu.addAction(path, lambda p=path: window.open_workspace(p))
    if menu.isEmpty():
        menu.addAction("(none yet)").setEnabled(False)
