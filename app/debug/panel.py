"""The Debug panel: call stack, variables of the selected frame, a watch list and a console
that evaluates in the selected frame."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (QLabel, QLineEdit, QListWidget, QListWidgetItem, QPlainTextEdit, QSplitter,
                               QTreeView, QTreeWidget, QTreeWidgetItem, QVBoxLayout, QWidget)

from engine_core.debug import Frame, StopInfo

from .controller import DebugController
from .variables_model import VariablesModel


def _titled(title: str, widget: QWidget) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.setContentsMargins(2, 2, 2, 2)
    layout.addWidget(QLabel(f"<b>{title}</b>"))
    layout.addWidget(widget)
    return box


class DebugPanel(QWidget):
    frameSelected = Signal(object)  # Frame

    def __init__(self, controller: DebugController, parent=None):
        super().__init__(parent)
        self._controller = controller
        self.frame: Frame | None = None

        self.status = QLabel("Not debugging. Set breakpoints (F9 or click the margin), then Debug (F6).")
        self.status.setObjectName("debugStatus")
        self.stack = QListWidget()
        self.stack.setObjectName("callStack")
        self.stack.currentRowChanged.connect(self._frame_chosen)
        self.variables_model = VariablesModel(controller, self)
        self.variables = QTreeView()
        self.variables.setObjectName("variables")
        self.variables.setModel(self.variables_model)
        self.variables.setUniformRowHeights(True)
        self.watch = QTreeWidget()
        self.watch.setObjectName("watch")
        self.watch.setHeaderLabels(["Watch", "Value"])
        self.watch_input = QLineEdit(placeholderText="Add a watch expression and press Enter")
        self.watch_input.returnPressed.connect(self._add_watch)
        self.console = QPlainTextEdit(readOnly=True)
        self.console.setObjectName("debugConsole")
        self.console.setFont(QFont("monospace"))
        self.console_input = QLineEdit(placeholderText="Evaluate in the selected frame (Enter)")
        self.console_input.setObjectName("consoleInput")
        self.console_input.returnPressed.connect(self._evaluate_console)

        watch_box = QWidget()
        watch_layout = QVBoxLayout(watch_box)
        watch_layout.setContentsMargins(0, 0, 0, 0)
        watch_layout.addWidget(self.watch)
        watch_layout.addWidget(self.watch_input)
        console_box = QWidget()
        console_layout = QVBoxLayout(console_box)
        console_layout.setContentsMargins(0, 0, 0, 0)
        console_layout.addWidget(self.console)
        console_layout.addWidget(self.console_input)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(_titled("Call stack", self.stack))
        splitter.addWidget(_titled("Variables", self.variables))
        splitter.addWidget(_titled("Watch", watch_box))
        splitter.addWidget(_titled("Console", console_box))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.status)
        layout.addWidget(splitter)

        controller.stopped.connect(self._stopped)
        controller.resumed.connect(self._resumed)
        controller.ended.connect(self._ended)
        controller.output.connect(self._print)

    # -- session events -------------------------------------------------------------------
    def _stopped(self, stop: StopInfo, frames: list[Frame]) -> None:
        where = f"{frames[0].label}, line {frames[0].line}" if frames else "outside the flows"
        text = f"Stopped ({stop.reason}) in {where}"
        if stop.exception:
            text += f" — {stop.exception}"
            self._print(f"Exception: {stop.exception}\n")
        self.status.setText(text)
        self.stack.clear()
        for frame in frames:
            item = QListWidgetItem(f"{frame.label}  :{frame.line}")
            item.setData(Qt.ItemDataRole.UserRole, frame)
            self.stack.addItem(item)
        if frames:
            self.stack.setCurrentRow(0)

    def _resumed(self) -> None:
        self.status.setText("Running…")
        self.stack.clear()
        self.variables_model.clear()
        self.frame = None

    def _ended(self) -> None:
        self._resumed()
        self.status.setText("Debugging ended.")

    def _frame_chosen(self, row: int) -> None:
        item = self.stack.item(row)
        if item is None:
            return
        self.frame = item.data(Qt.ItemDataRole.UserRole)
        self._controller.scopes(self.frame.id, self._show_scopes)
        self._refresh_watches()
        self.frameSelected.emit(self.frame)

    def _show_scopes(self, scopes) -> None:
        self.variables_model.show_scopes(scopes)
        locals_index = self.variables_model.find("Locals")
        if locals_index.isValid():
            self.variables.expand(locals_index)

    # -- watch and console ----------------------------------------------------------------
    def _add_watch(self) -> None:
        expression = self.watch_input.text().strip()
        if expression:
            QTreeWidgetItem(self.watch, [expression, ""])
            self.watch_input.clear()
            self._refresh_watches()

    def _refresh_watches(self) -> None:
        for i in range(self.watch.topLevelItemCount()):
            item = self.watch.topLevelItem(i)
            if self.frame is None:
                item.setText(1, "")
                continue
            self._controller.evaluate(item.text(0), self.frame.id, "watch",
                                      on_done=lambda v, it=item: it.setText(1, v.value),
                                      on_error=lambda message, it=item: it.setText(1, f"⚠ {message}"))

    def _evaluate_console(self) -> None:
        expression = self.console_input.text().strip()
        if not expression:
            return
        self.console_input.clear()
        self._print(f">>> {expression}\n")
        if self.frame is None:
            self._print("(the flow is not stopped: nothing to evaluate in)\n")
            return
        self._controller.evaluate(expression, self.frame.id, "repl",
                                  on_done=lambda v: self._print(f"{v.value}\n"),
                                  on_error=lambda message: self._print(f"{message}\n"))

    def _print(self, text: str) -> None:
        self.console.moveCursor(self.console.textCursor().MoveOperation.End)
        self.console.insertPlainText(text)
