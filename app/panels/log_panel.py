"""The Log panel: log lines of executions as they are committed."""

from __future__ import annotations

import time

from PySide6.QtGui import QFont
from PySide6.QtWidgets import QPlainTextEdit

from engine_core import events as ev


class LogPanel(QPlainTextEdit):
    def __init__(self, names, parent=None):
        super().__init__(parent)
        self._names = names  # execution id -> label
        self.setObjectName("logPanel")
        self.setReadOnly(True)
        self.setMaximumBlockCount(20_000)  # old lines drop off; the store keeps them all
        self.setFont(QFont("monospace"))
        self.setPlaceholderText("Logs of executions appear here while they run.")

    def add_events(self, events: list[ev.Event]) -> None:
        lines = [f"{time.strftime('%H:%M:%S', time.localtime(e.at))} {self._names(e.id)} [{e.level}] {e.text}"
                 for e in events if isinstance(e, ev.LogAppended)]
        if lines:
            self.appendPlainText("\n".join(lines))
