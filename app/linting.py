"""Linting as you type: ~300 ms after the last keystroke the text is linted in the analysis
process, and the result is applied only if the text has not changed since (otherwise a newer
lint follows). A flow of a workspace is linted with that workspace's packages (imports of
modules that are not installed are reported with a quick fix)."""

from __future__ import annotations

from functools import partial
from typing import Callable, Iterable, Mapping

import shiboken6
from PySide6.QtCore import QObject, QTimer

from engine_core.analysis import Problem
from engine_core.analysis.imports import workspace_root
from engine_core.analysis.lint import lint

from .analysis_service import analysis

DEBOUNCE_MS = 300


class LintScheduler(QObject):
    """One per editor tab."""

    def __init__(self, text: Callable[[], str], filename: Callable[[], str],
                 known_flows: Callable[[], Iterable[str]], apply: Callable[[list[Problem]], None], parent=None,
                 connector_records: Callable[[], Mapping[str, str]] | None = None):
        super().__init__(parent)
        self._text, self._filename, self._known_flows, self._apply = text, filename, known_flows, apply
        # The workspace's connector records (name -> type), as last listed (never read from
        # disk here: this runs per keystroke).
        self._records = connector_records
        self._version = 0
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.lint_now)

    def text_changed(self) -> None:
        self._version += 1
        self._timer.start()

    def lint_now(self) -> None:
        self._timer.stop()
        version = self._version
        records = dict(self._records()) if self._records is not None else None
        filename = self._filename()
        # The workspace is the folder above the flow's flows/ (EditorTabs names the real path).
        checked = partial(lint, packages_root=workspace_root(filename))
        analysis().submit(checked, self._text(), filename, list(self._known_flows()), records,
                          on_done=lambda problems: self._done(version, problems))

    def _done(self, version: int, problems: list[Problem]) -> None:
        # Dropped: results for an older text, or for a tab closed while linting ran.
        if shiboken6.isValid(self) and version == self._version:
            self._apply(problems)
