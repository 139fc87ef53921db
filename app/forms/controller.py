"""Forms between the engine and the person: a form message arrives (or was already waiting
when the IDE started), the person is told, their answer goes to ``Engine.respond`` off the
GUI thread, and the engine's ``FormAnswered`` (or the execution's cancel) closes the form.

Only the window's public attributes are used: bridge, tree_model, statusBar, messages_dock."""

from __future__ import annotations

from typing import Any

import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPushButton

from engine_core import events as ev

from ..tasks import run_in_background
from .panel import FormsPanel

# Events the engine side adds with issue 9; looked up by name so that this module imports
# (and its tests with hand-made events run) against an engine that does not have them yet.
_FormAnswered = getattr(ev, "FormAnswered", None)
_TERMINAL = ("success", "error", "cancelled")


class FormsController(QObject):
    def __init__(self, window, panel: FormsPanel):
        super().__init__(panel)
        self.window = window
        self.panel = panel
        self.dock = None  # the Messages dock, once installed: titled with the open-form count
        # Stays in the status bar while forms are open: a passing message is easily overwritten
        # (a run's "Started execution #N" arrives about when a quick flow asks).
        self.indicator = QPushButton()
        self.indicator.setObjectName("openFormsIndicator")
        self.indicator.setFlat(True)
        self.indicator.setToolTip("Show the forms waiting for an answer")
        self.indicator.clicked.connect(lambda: self.notify(""))
        self.indicator.hide()
        window.statusBar().addPermanentWidget(self.indicator)
        self._by_execution: dict[int, set[int]] = {}  # execution id -> message ids of its open forms
        panel.answered.connect(self.respond)
        panel.openCountChanged.connect(self._count_changed)

    # -- arriving ---------------------------------------------------------------------------
    def on_events(self, events: list) -> None:
        new: list[dict] = []
        for event in events:
            if isinstance(event, ev.MessageAdded) and getattr(event, "form", None) is not None:
                record = {"id": event.message_id, "execution_id": event.id, "subject": event.subject,
                          "message": event.message, "form": event.form, "state": "open", "at": event.at}
                self.add(record)
                new.append(record)
            elif _FormAnswered is not None and isinstance(event, _FormAnswered):
                self._closed(event.message_id)
                if getattr(event, "state", "answered") == "cancelled":  # its execution ended first
                    self.panel.mark_cancelled(event.message_id, "its execution ended")
                else:
                    self.panel.mark_answered(event.message_id, event.response, event.at)
            elif isinstance(event, ev.StatusChanged) and event.status in _TERMINAL:
                self._execution_ended(event.id, event.status)
        if len(new) == 1:
            self.notify(f"{self._label(new[0]['execution_id'])} asks: {new[0]['subject']} — "
                        "answer it in the Messages panel")
        elif new:
            self.notify(f"{len(new)} new forms wait for an answer in the Messages panel")

    def load_open_forms(self) -> None:
        """Forms of executions that were already waiting when the workspace opened."""
        self.panel.clear_forms()
        for execution_id in self._by_execution:  # ids of another workspace mean other executions
            self._set_waiting(execution_id, False)
        self._by_execution.clear()
        if self.window.bridge.is_open:
            self.window.bridge.read(_open_forms, on_done=self._loaded)

    def _alive(self) -> bool:
        """False once the window is gone: a background result may arrive after it closed."""
        return shiboken6.isValid(self.window) and shiboken6.isValid(self.panel)

    def _loaded(self, records: list[dict]) -> None:
        if not self._alive():
            return
        for record in records:
            if record.get("state") == "open" and record.get("form") is not None:
                self.add(record)
        if records:
            self.notify("1 form waits for an answer in the Messages panel" if len(records) == 1
                        else f"{len(records)} forms wait for an answer in the Messages panel")

    def add(self, record: dict) -> None:
        execution_id = record.get("execution_id")
        self.panel.add_form(record, self._label(execution_id))
        if execution_id is not None:
            self._by_execution.setdefault(execution_id, set()).add(record["id"])
            self._set_waiting(execution_id, True)

    def notify(self, text: str) -> None:
        if text:
            self.window.statusBar().showMessage(text, 15000)
        if self.dock is not None:
            self.dock.show()
            self.dock.raise_()

    def show_form(self, message_id: Any) -> None:
        """Bring a form to front (e.g. its row in the Messages table was activated)."""
        if message_id is not None and self.panel.show_form(message_id) and self.dock is not None:
            self.dock.raise_()

    # -- answering --------------------------------------------------------------------------
    def respond(self, message_id: int, response: dict) -> None:
        engine = self.window.bridge.engine
        if engine is None:
            self.panel.send_failed(message_id, "the engine is still starting; try again in a moment")
            return
        # Off the GUI thread: respond commits to the database and wakes the waiting execution.
        run_in_background(engine.respond, message_id, response,
                          on_done=lambda record, m=message_id: self._responded(m, record),
                          on_error=lambda text, m=message_id: self._send_failed(m, text))

    def _send_failed(self, message_id: int, text: str) -> None:
        if self._alive():
            self.panel.send_failed(message_id, _readable(message_id, text))

    def _responded(self, message_id: int, record: Any) -> None:
        if not self._alive():
            return
        at = record.get("answered_at") if isinstance(record, dict) else None
        self._closed(message_id)
        self.panel.mark_answered(message_id, record.get("response") if isinstance(record, dict) else None, at)

    # -- closing ----------------------------------------------------------------------------
    def _execution_ended(self, execution_id: int, status: str) -> None:
        message_ids = self._by_execution.get(execution_id)
        if not message_ids:
            return
        if status == "cancelled":
            for message_id in list(message_ids):
                self._closed(message_id)
                self.panel.mark_cancelled(message_id, "the execution was cancelled")
            return
        # A form made with system.message(...) may outlive the execution that made it (a child
        # waits on it): ask the store whether it is still open instead of guessing.
        for message_id in list(message_ids):
            self.window.bridge.read(_message, message_id, on_done=lambda record, m=message_id: self._recheck(m, record))

    def _recheck(self, message_id: int, record: dict | None) -> None:
        if not self._alive():
            return
        if record is None or record.get("state") == "cancelled":
            self._closed(message_id)
            self.panel.mark_cancelled(message_id, "its execution ended")
        elif record.get("state") == "answered":
            self._closed(message_id)
            self.panel.mark_answered(message_id, record.get("response"), record.get("answered_at"))

    def _closed(self, message_id: int) -> None:
        for execution_id, message_ids in list(self._by_execution.items()):
            if message_id in message_ids:
                message_ids.discard(message_id)
                if not message_ids:
                    del self._by_execution[execution_id]
                    self._set_waiting(execution_id, False)
        if not self._by_execution and "wait" in self.window.statusBar().currentMessage():
            self.window.statusBar().clearMessage()  # "1 form waits ..." would be stale now

    # -- the window -------------------------------------------------------------------------
    def _set_waiting(self, execution_id: int, waiting: bool) -> None:
        set_waiting = getattr(self.window.tree_model, "set_waiting", None)
        if set_waiting is not None:
            set_waiting(execution_id, waiting)

    def _label(self, execution_id: int | None) -> str:
        if execution_id is None:
            return ""
        node = self.window.tree_model.node(execution_id)
        return f"#{execution_id} {node.name}" if node is not None else f"execution #{execution_id}"

    def _count_changed(self, count: int) -> None:
        self.indicator.setText(f"✎ {count} form{'s' if count != 1 else ''} waiting")
        self.indicator.setVisible(count > 0)
        if self.dock is not None:
            self.dock.setWindowTitle(f"Messages ({count} open form{'s' if count != 1 else ''})" if count
                                     else "Messages")


def _readable(message_id: int, error: str) -> str:
    # Engine.respond raises a bare LookupError for a form that no longer exists.
    if error.startswith("LookupError"):
        return f"form #{message_id} no longer exists"
    return error


def _open_forms(store) -> list[dict]:
    forms = getattr(store, "forms", None)  # a store before issue 9 has no forms to load
    return forms(open_only=True) if forms is not None else []


def _message(store, message_id: int) -> dict | None:
    return store.message(message_id)
