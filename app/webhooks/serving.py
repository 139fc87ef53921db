"""The "Serve Webhooks" switch: a checkable action (the panel's toolbar and the Run menu) that
runs ``WebhookServer`` on 127.0.0.1 in front of the IDE's engine. Off by default; whether it is
on and the port are kept in the IDE's settings file (keys ``webhooks/serve``, ``webhooks/port``)
and it comes back on with the next engine. Closing the window stops the server."""

from __future__ import annotations

import shiboken6
from PySide6.QtCore import QEvent, QObject, QSettings, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel

from engine_core.errors import FlowdeskError
from engine_core.webhooks import URL_PREFIX

from ..session import settings_path
from ..tasks import run_in_background
from .panel import WebhooksPanel
from .server import DEFAULT_PORT, HOST, WebhookServer

SERVE_KEY, PORT_KEY = "webhooks/serve", "webhooks/port"


class Serving(QObject):
    def __init__(self, window, panel: WebhooksPanel):
        super().__init__(window)
        self.window = window
        self.panel = panel
        self.server: WebhookServer | None = None
        self._settings = QSettings(str(settings_path()), QSettings.Format.IniFormat)
        self._closing = False
        self.action = QAction("Serve Webhooks", self, checkable=True)
        self.action.setObjectName("serveWebhooksAction")
        self.action.setToolTip(f"Serve the workspace's webhooks on {HOST} from the IDE; each call shows in "
                               "Executions")
        self.status_label = QLabel()
        self.status_label.setObjectName("webhooksServingStatus")
        self.status_label.hide()
        window.statusBar().addPermanentWidget(self.status_label)
        panel.port_box.setValue(self.port_setting())
        panel.port_box.valueChanged.connect(lambda port: self._settings.setValue(PORT_KEY, port))
        self.action.setChecked(self._settings.value(SERVE_KEY, False, type=bool))
        self.action.toggled.connect(self._toggled)
        window.bridge.opened.connect(self._engine_opened)
        window.installEventFilter(self)
        if self.action.isChecked() and window.bridge.is_open:
            self.start()

    def port_setting(self) -> int:
        port = self._settings.value(PORT_KEY, DEFAULT_PORT, type=int)
        return port if 0 <= port <= 65535 else DEFAULT_PORT

    @property
    def base_url(self) -> str:
        """Where the webhooks are (or would be) served: for the URLs given to callers."""
        if self.server is not None and self.server.port is not None:
            return self.server.base_url
        return f"http://{HOST}:{self.panel.port_box.value() or DEFAULT_PORT}"

    # -- on / off ---------------------------------------------------------------------------
    def _toggled(self, on: bool) -> None:
        self._settings.setValue(SERVE_KEY, on)
        if on:
            self.start()
        else:
            self.stop()

    def _engine_opened(self) -> None:
        """Another workspace (a new engine): serve it instead, if serving is on."""
        if self.action.isChecked():
            self._stop_now()
            self.start()

    def start(self) -> None:
        if self.server is not None:
            return
        engine = self.window.bridge.engine
        if engine is None:  # starts when the engine is ready (_engine_opened)
            self._show("Webhooks will be served once the engine is ready")
            return
        server = WebhookServer(engine, self.panel.port_box.value())
        try:
            server.start()  # binding the socket is quick; uvicorn runs on its own thread
        except FlowdeskError as exc:
            self._uncheck()
            self._show_off()
            self.window.show_error(str(exc))
            return
        self.server = server
        self._show(f"Serving webhooks on {server.base_url}")
        self.window.statusBar().showMessage(f"Serving webhooks on {server.base_url}{URL_PREFIX}/<name>/call", 5000)

    def stop(self) -> None:
        """Off the GUI thread: a synchronous call under way may take up to five seconds."""
        server, self.server = self.server, None
        self._show_off()
        if server is not None:
            self.panel.header.setText("Stopping the webhook server…")
            run_in_background(server.stop, on_done=lambda _: self._stopped(), owner=self.panel)

    def _stopped(self) -> None:
        if self.server is None:
            self._show_off()

    def _stop_now(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.stop()
        self._show_off()

    def _uncheck(self) -> None:
        self.action.blockSignals(True)
        self.action.setChecked(False)
        self.action.blockSignals(False)
        self._settings.setValue(SERVE_KEY, False)

    def _show(self, text: str) -> None:
        self.panel.header.setText(text)
        self.status_label.setText(text)
        self.status_label.show()

    def _show_off(self) -> None:
        if shiboken6.isValid(self.panel):
            self.panel.header.setText("Webhooks are not served from the IDE")
            self.status_label.hide()

    # -- the window closing -----------------------------------------------------------------
    def eventFilter(self, watched, event) -> bool:
        # A close may still be refused (unsaved edits): stop only when the window hides for it.
        if watched is self.window:
            if event.type() == QEvent.Type.Close:
                self._closing = True
                QTimer.singleShot(0, self._close_refused)
            elif event.type() == QEvent.Type.Hide and self._closing and self.server is not None:
                self._stop_now()  # before the window closes the engine behind it
        return False

    def _close_refused(self) -> None:
        self._closing = False
