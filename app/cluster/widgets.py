"""The cluster feature's widgets: the toolbar's "Run on" combo, the status bar's cluster label,
and the small dialog that asks for a scheduler's address."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QLabel, QLineEdit, QVBoxLayout, QWidget

THIS_MACHINE, CLUSTER, OTHER_CLUSTER = 0, 1, 2
SUGGESTED = "local:2"


def scheduler_problem(text: str) -> str | None:
    """What is wrong with ``text`` as a scheduler address (None: nothing); the engine's own
    reading of it (engine_core.cluster.config), so the dialog accepts what the engine does."""
    from engine_core.cluster.config import ClusterError, parse_scheduler

    try:
        parse_scheduler(text)
    except ClusterError as exc:
        return str(exc)
    return None


def normalised(text: str) -> str:
    """``host:8786`` → ``tcp://host:8786``, as the engine reads it."""
    from engine_core.cluster.config import parse_scheduler

    return parse_scheduler(text)


class RunOnCombo(QComboBox):
    """"This machine" / "Cluster (tcp://…)" (+ "Other cluster…" once one is set); "Cluster…"
    while no scheduler is configured (choosing it asks for one)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("runOnCombo")
        self.setToolTip("Where the IDE's engine runs executions: on this machine, or on a Dask cluster "
                        "(saved as [cluster] run_on in the workspace's .flowdesk/config.toml)")
        self.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)

    def show_setting(self, run_on_cluster: bool, scheduler: str | None) -> None:
        """Show the workspace's setting without emitting a choice."""
        blocked = self.blockSignals(True)
        self.clear()
        self.addItem("This machine")
        self.addItem(f"Cluster ({scheduler})" if scheduler else "Cluster…")
        if scheduler:
            self.addItem("Other cluster…")
        self.setCurrentIndex(CLUSTER if run_on_cluster and scheduler else THIS_MACHINE)
        self.blockSignals(blocked)


class ClusterLabel(QLabel):
    """"Cluster · 2 workers · Dashboard" in the status bar; the link opens the dashboard."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("clusterStatus")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.LinksAccessibleByMouse)
        self.setOpenExternalLinks(True)  # the dashboard, in the browser
        self.hide()

    def show_backend(self, described: dict) -> None:
        """From ``Engine.describe_backend()``: hidden on this machine."""
        if described.get("runs_on") != "cluster":
            self.hide()
            return
        workers = described.get("workers")
        parts = ["Cluster"]
        if workers is not None:
            parts.append(f"{workers} worker{'s' if workers != 1 else ''}")
        if dashboard := described.get("dashboard"):
            parts.append(f'<a href="{html.escape(dashboard, quote=True)}">Dashboard</a>')
        self.setText(" · ".join(parts))
        self.setToolTip(f"Executions run on the Dask cluster {described.get('scheduler', '')}")
        self.show()

    def show_state(self, text: str, tooltip: str = "") -> None:
        """"Cluster · connecting…", "Cluster · not connected": no link."""
        self.setText(html.escape(text))
        self.setToolTip(tooltip)
        self.show()


class SchedulerDialog(QDialog):
    """Asks for the scheduler's address; OK only for one that reads as an address."""

    def __init__(self, current: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("schedulerDialog")
        self.setWindowTitle("Run on a Dask cluster")
        self.edit = QLineEdit(current or SUGGESTED)
        self.edit.setObjectName("schedulerAddress")
        self.edit.selectAll()
        hint = QLabel("The Dask scheduler's address: tcp://HOST:8786 (or tls://…), or local:N for N worker "
                      "processes on this machine, started with the engine. Start a cluster that stays with "
                      "<code>flowdesk cluster local --workers N</code>.")
        hint.setWordWrap(True)
        self.problem = QLabel("")
        self.problem.setObjectName("schedulerProblem")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Scheduler:"))
        layout.addWidget(self.edit)
        layout.addWidget(hint)
        layout.addWidget(self.problem)
        layout.addWidget(self.buttons)
        self.edit.textChanged.connect(self._check)
        self._check(self.edit.text())

    def _check(self, text: str) -> None:
        problem = scheduler_problem(text)
        self.problem.setText(problem or "")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(problem is None)

    def address(self) -> str:
        return normalised(self.edit.text())


def ask_scheduler(parent: QWidget, current: str | None) -> str | None:
    """The dialog, modal; the address, or None when cancelled."""
    dialog = SchedulerDialog(current, parent)
    return dialog.address() if dialog.exec() == QDialog.DialogCode.Accepted else None
