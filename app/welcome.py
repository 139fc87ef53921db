"""The Welcome page: a tab of the editor area that says what a flow is, the keys that run and
debug one, and where the documentation is. Shown on a first start; Help ▸ Welcome reopens
it. Pages are not restored at the next start, so it never comes back by itself."""

from __future__ import annotations

import html
from typing import TYPE_CHECKING

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import QTextBrowser, QWidget

from .icons import resources_dir

if TYPE_CHECKING:
    from .main_window import MainWindow

PAGE_KEY = "welcome"
EXAMPLE_FLOW = "Main Process"  # the example workspace's entry point

# (action objectName, what the key does): the keys are read off the actions, so the page
# cannot disagree with the menus.
_KEYS = (
    ("runAction", "Run the flow in the editor (Continue when the debugger is stopped)"),
    ("debugAction", "Debug the flow in the editor (Pause while it runs)"),
    ("toggleBreakpointAction", "Set or clear a breakpoint on the cursor's line (or click the margin)"),
    ("stepOverAction", "Step over the current line"),
    ("stepInAction", "Step into a call — into a child flow's handler, too"),
    ("stepOutAction", "Step out of the current function"),
    ("stopAction", "Stop the run, or stop debugging"),
    ("saveAction", "Save the flow"),
    ("newFlowAction", "New flow"),
)


def readme_path():
    """README.md of a checkout or of the bundled app, if there is one."""
    path = resources_dir().parent / "README.md"
    return path if path.is_file() else None


def show_welcome(window: "MainWindow") -> QWidget:
    # About the example flow: with the page in front, F5 / F6 run and debug it, as the page says.
    example = EXAMPLE_FLOW if window.workspace is not None and window.workspace.has_flow(EXAMPLE_FLOW) else None
    return window.tabs.open_page(PAGE_KEY, "Welcome", lambda: WelcomePage(window),
                                 tooltip="What a flow is, the keys that run and debug one, where the docs are",
                                 flow=example)


class WelcomePage(QTextBrowser):
    def __init__(self, window: "MainWindow"):
        super().__init__()
        self.setObjectName("welcomePage")
        self._window = window
        self.setOpenLinks(False)  # flow: links open a flow's tab; others go to the desktop
        self.anchorClicked.connect(self._follow)
        self.document().setDocumentMargin(24)
        self.setHtml(_page_html(window))

    def _follow(self, url: QUrl) -> None:
        if url.scheme() == "flow":
            self._window.open_flow(url.path())
        else:
            QDesktopServices.openUrl(url)


def _key_of(window: "MainWindow", name: str) -> str:
    action = window.findChild(QAction, name)
    if action is None:
        return ""
    key = action.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
    return key or action.text().partition("\t")[2]


def _first_steps(window: "MainWindow") -> str:
    run = html.escape(_key_of(window, "runAction") or "F5")
    debug = html.escape(_key_of(window, "debugAction") or "F6")
    inputs = "The inputs dialog starts on Enter or Ctrl+Enter and offers the inputs the flow reads."
    if window.workspace is not None and window.workspace.has_flow(EXAMPLE_FLOW):
        return (f"<p><a href='flow:{EXAMPLE_FLOW}'>{EXAMPLE_FLOW}</a> is open in the tab beside this one. "
                f"Press <b>{run}</b> to run it (here or there) — it starts <i>Calculator</i> and "
                f"<i>Messenger</i>; <b>{debug}</b> debugs it, stopping at the breakpoints you set. {inputs}</p>")
    return (f"<p>Double-click a flow in the Explorer to open it, then press <b>{run}</b> to run it or "
            f"<b>{debug}</b> to debug it. {inputs}</p>")


def _page_html(window: "MainWindow") -> str:
    rows = "".join(
        f"<tr><td style='padding:3px 18px 3px 0'><b>{html.escape(key)}</b></td><td>{html.escape(text)}</td></tr>"
        for name, text in _KEYS if (key := _key_of(window, name)))
    workspace = html.escape(str(window.workspace.root)) if window.workspace else "a folder with a flows/ folder"
    readme = readme_path()
    docs = (f"<a href='{readme.as_uri()}'>{html.escape(str(readme))}</a>" if readme
            else "the README.md of Flowdesk's source")
    return f"""
<h1>Welcome to Flowdesk</h1>
<p>A <b>flow</b> is a Python file in <code>flows/</code> with a function
<code>handler(system, this, inputs)</code>. It reads its <code>inputs</code> (a JSON object),
can start other flows with <code>this.flow('Calculator', initial_value=42)</code>, and ends
with <code>this.success('done')</code>. Each run is an <b>execution</b>: the
<i>Executions</i> panel below shows the tree of them as they run, with their logs and outputs.</p>
{_first_steps(window)}
<h3>Keys</h3>
<table>{rows}</table>
<h3>Where things are</h3>
<p>This workspace: <code>{workspace}</code>. Documentation: {docs}.
Help ▸ Welcome shows this page again; Help ▸ About lists the version and licences.</p>
"""
