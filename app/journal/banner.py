"""The bar shown when a replay reaches the end of its recording: the message, and
[Continue live] (from here the flow's calls act for real) or [Stop]."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton


class ReplayBanner(QFrame):
    continueLive = Signal()
    stopReplay = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("replayBanner")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet("#replayBanner { background: #fff4ce; color: #3b2f00; border: 1px solid #e0c35a; }")
        self.label = QLabel("")
        self.label.setObjectName("replayBannerText")
        self.label.setWordWrap(True)
        self.live_button = QPushButton("Continue live")
        self.live_button.setObjectName("replayContinueLive")
        self.live_button.setToolTip("Go on from here with calls that act for real (settings, files, "
                                    "connectors, child flows), under the replay's execution")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setObjectName("replayStop")
        self.stop_button.setToolTip("End the replay here")
        self.live_button.clicked.connect(self._live)
        self.stop_button.clicked.connect(self._stop)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addWidget(self.label, 1)
        layout.addWidget(self.live_button)
        layout.addWidget(self.stop_button)
        self.hide()

    def show_message(self, message: str) -> None:
        self.label.setText(f"Replay paused: {message}")
        self.show()

    def _live(self) -> None:
        self.hide()
        self.continueLive.emit()

    def _stop(self) -> None:
        self.hide()
        self.stopReplay.emit()
