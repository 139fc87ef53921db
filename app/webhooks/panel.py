"""The Webhooks panel's widgets: a header (whether webhooks are served, and where), a toolbar,
the table, and the two small dialogs (a new webhook; a key shown once)."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import (QAbstractItemView, QComboBox, QDialog, QDialogButtonBox, QFormLayout, QHBoxLayout,
                               QHeaderView, QLabel, QLineEdit, QMenu, QPushButton, QSpinBox, QTableView, QToolBar,
                               QVBoxLayout, QWidget)

from .model import WebhooksModel


class WebhooksPanel(QWidget):
    selectionChanged = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("webhooksPanel")
        self.model = WebhooksModel(self)
        self.header = QLabel("Webhooks are not served from the IDE")
        self.header.setObjectName("webhooksHeader")
        self.toolbar = QToolBar()
        self.toolbar.setObjectName("webhooksToolbar")
        self.port_box = QSpinBox()
        self.port_box.setObjectName("webhooksPort")
        self.port_box.setRange(0, 65535)
        self.port_box.setToolTip("Port to serve webhooks on (127.0.0.1); 0 picks a free one")
        self.view = QTableView()
        self.view.setObjectName("webhooksView")
        self.view.setModel(self.model)
        self.view.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.view.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.view.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.view.horizontalHeader().setStretchLastSection(True)
        self.view.verticalHeader().hide()
        self.view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.view.customContextMenuRequested.connect(self._context_menu)
        self.view.selectionModel().selectionChanged.connect(lambda *_: self.selectionChanged.emit())
        self.model.modelReset.connect(self.selectionChanged.emit)
        self.row_actions: list[QAction] = []  # acting on the selected webhook (context menu too)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        top.addWidget(self.header, 1)
        top.addWidget(QLabel("Port:"))
        top.addWidget(self.port_box)
        layout.addLayout(top)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.view)

    def selected_name(self) -> str | None:
        rows = self.view.selectionModel().selectedRows()
        hook = self.model.row_at(rows[0].row()) if rows else None
        return hook.name if hook else None

    def select(self, name: str) -> None:
        row = self.model.row_of(name)
        if row >= 0:
            self.view.selectRow(row)

    def _context_menu(self, pos) -> None:
        index = self.view.indexAt(pos)
        if index.isValid():
            self.view.selectRow(index.row())
        menu = QMenu(self)
        for action in self.row_actions:
            menu.addAction(action)
        menu.popup(self.view.viewport().mapToGlobal(pos))


class NewWebhookDialog(QDialog):
    """Name and flow of a new webhook; ``created(name, flow)`` on OK."""

    created = Signal(str, str)

    def __init__(self, flows: list[str], parent=None):
        super().__init__(parent)
        self.setObjectName("newWebhookDialog")
        self.setWindowTitle("New Webhook")
        self.name_edit = QLineEdit()
        self.name_edit.setObjectName("webhookName")
        self.name_edit.setPlaceholderText("e.g. new-order (becomes part of the URL)")
        self.flow_box = QComboBox()
        self.flow_box.setObjectName("webhookFlow")
        self.flow_box.addItems(flows)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.ok_button = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok_button.setText("Create")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        self.name_edit.textChanged.connect(self._update)
        form = QFormLayout(self)
        form.addRow("Name:", self.name_edit)
        form.addRow("Flow:", self.flow_box)
        note = QLabel("The webhook is created disabled; its key is shown once.")
        note.setWordWrap(True)
        form.addRow(note)
        form.addRow(buttons)
        self._update()

    def _update(self) -> None:
        self.ok_button.setEnabled(bool(self.name_edit.text().strip()) and self.flow_box.count() > 0)

    def _accept(self) -> None:
        self.created.emit(self.name_edit.text().strip(), self.flow_box.currentText())
        self.accept()


class KeyDialog(QDialog):
    """A webhook's key (or URL), shown once, selectable, with a Copy button."""

    def __init__(self, title: str, text: str, value: str, parent=None):
        super().__init__(parent)
        self.setObjectName("webhookKeyDialog")
        self.setWindowTitle(title)
        label = QLabel(text)
        label.setWordWrap(True)
        self.value_edit = QLineEdit(value)
        self.value_edit.setObjectName("webhookKeyValue")
        self.value_edit.setReadOnly(True)
        self.value_edit.selectAll()
        copy = QPushButton("Copy")
        copy.setObjectName("webhookKeyCopy")
        copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.value_edit.text()))
        close = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        close.rejected.connect(self.accept)
        row = QHBoxLayout()
        row.addWidget(self.value_edit, 1)
        row.addWidget(copy)
        layout = QVBoxLayout(self)
        layout.addWidget(label)
        layout.addLayout(row)
        layout.addWidget(close)
        self.resize(560, self.sizeHint().height())
