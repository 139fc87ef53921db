"""Forms in the IDE: a flow's ``this.message(subject, body=FORM)`` shown as widgets beside the
Messages table, answered through them. ``install(window)`` uses only the window's public
attributes (bridge, tree_model, messages_dock, messages_view, statusBar), so the window needs
one call and nothing else."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMainWindow, QSplitter

from .controller import FormsController
from .panel import FormsPanel
from .widget import FormWidget

__all__ = ["install", "FormsController", "FormsPanel", "FormWidget"]


def install(window: QMainWindow) -> FormsController:
    """Put the forms panel into the Messages dock and follow the engine's events; returns the
    controller (also kept as ``window.forms``)."""
    panel = FormsPanel()
    controller = FormsController(window, panel)
    dock = window.messages_dock
    # The table and the forms side by side in the one dock: a form is a message, and the
    # person looks for it where messages are. The table keeps its attribute on the window.
    splitter = QSplitter(Qt.Orientation.Horizontal)
    splitter.setObjectName("messagesSplitter")
    splitter.addWidget(window.messages_view)
    splitter.addWidget(panel)
    splitter.setStretchFactor(0, 2)
    splitter.setStretchFactor(1, 3)
    dock.setWidget(splitter)
    panel.hide()  # until a form arrives
    controller.dock = dock
    window.bridge.eventsArrived.connect(controller.on_events)
    window.bridge.opened.connect(controller.load_open_forms)
    role = getattr(type(window.messages_model), "MessageIdRole", None)
    if role is not None:  # a form's row in the table brings the form to front
        window.messages_view.activated.connect(lambda index: controller.show_form(index.data(role)))
    window.forms = controller
    return controller
