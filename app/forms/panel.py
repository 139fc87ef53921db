"""The forms beside the Messages table: one tab per form, open ones first to catch the eye.
Answered and cancelled forms stay (marked) until the person closes their tab, so an answer
never vanishes under the cursor."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtGui import QCursor
from PySide6.QtWidgets import QScrollArea, QTabWidget, QToolTip, QWidget

from .widget import FormWidget


class FormsPanel(QTabWidget):
    openCountChanged = Signal(int)
    answered = Signal(int, dict)  # message id, response: from any form

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("formsPanel")
        self.setTabsClosable(True)
        self.setDocumentMode(True)
        self.tabCloseRequested.connect(self._close_requested)
        self._forms: dict[int, FormWidget] = {}

    def add_form(self, record: dict, execution_label: str = "") -> FormWidget:
        """Show the form of ``record`` (a ``Store.message`` dict); a form shown already is
        brought to front instead (events and the start-up load may both bring it)."""
        message_id = record["id"]
        if message_id in self._forms:
            self.show_form(message_id)
            return self._forms[message_id]
        form = FormWidget(record, execution_label)
        form.answered.connect(self.answered)
        self._forms[message_id] = form
        scroll = QScrollArea()  # a long form scrolls inside the dock instead of stretching it
        scroll.setWidgetResizable(True)
        scroll.setWidget(form)
        index = self.addTab(scroll, self._tab_text(form))
        self.setTabToolTip(index, f"{form.subject} — {execution_label}" if execution_label else form.subject)
        self.setCurrentIndex(index)
        self._count_changed()
        return form

    def form(self, message_id: int) -> FormWidget | None:
        return self._forms.get(message_id)

    def forms(self) -> list[FormWidget]:
        return list(self._forms.values())

    def open_forms(self) -> list[FormWidget]:
        return [f for f in self._forms.values() if f.is_open]

    def show_form(self, message_id: int) -> bool:
        form = self._forms.get(message_id)
        if form is None:
            return False
        self.setCurrentIndex(self._index_of(form))
        return True

    def mark_answered(self, message_id: int, response: dict | None = None, at: float | None = None) -> None:
        form = self._forms.get(message_id)
        if form is not None and form.state != "answered":
            form.mark_answered(response, at)
            self._retitle(form)

    def mark_cancelled(self, message_id: int, reason: str) -> None:
        form = self._forms.get(message_id)
        if form is not None and form.is_open:
            form.mark_cancelled(reason)
            self._retitle(form)

    def send_failed(self, message_id: int, message: str) -> None:
        form = self._forms.get(message_id)
        if form is not None:
            form.send_failed(message)

    def clear_forms(self) -> None:
        """Another workspace: its forms are not these."""
        while self.count():
            self._remove(0)
        self._forms.clear()
        self._count_changed()

    # -- internals --------------------------------------------------------------------------
    def _close_requested(self, index: int) -> None:
        form = self.widget(index).widget()
        if form.is_open:  # closing the tab of an open form would hide a waiting execution
            QToolTip.showText(QCursor.pos(), "Answer this form (or cancel its execution) to close it", self)
            return
        self._forms.pop(form.message_id, None)
        self._remove(index)
        self._count_changed()

    def _remove(self, index: int) -> None:
        scroll = self.widget(index)
        self.removeTab(index)
        scroll.deleteLater()

    def _index_of(self, form: FormWidget) -> int:
        return next(i for i in range(self.count()) if self.widget(i).widget() is form)

    def _retitle(self, form: FormWidget) -> None:
        self.setTabText(self._index_of(form), self._tab_text(form))
        self._count_changed()

    @staticmethod
    def _tab_text(form: FormWidget) -> str:
        mark = {"answered": "✓ ", "cancelled": "✗ "}.get(form.state, "● ")
        return mark + (form.subject if len(form.subject) <= 30 else form.subject[:29] + "…")

    def _count_changed(self) -> None:
        self.setVisible(self.count() > 0)
        self.openCountChanged.emit(len(self.open_forms()))
