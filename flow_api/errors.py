"""Exceptions a flow can catch. All derive from :class:`FlowApiError`."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .execution import Execution


class FlowApiError(Exception):
    """Base class of every error the flow API raises."""


class DependencyFailedError(FlowApiError):
    """A child execution (``this.flow`` / ``this.connect``) ended in error or was cancelled.

    ``execution`` is the child; ``status`` and ``child_message`` say how it ended.
    Uncaught, it fails the parent with a message that names the child.
    """

    def __init__(self, execution: "Execution", status: str, child_message: str | None, label: str):
        self.execution = execution
        self.status = status
        self.child_message = child_message
        verb = "was cancelled" if status == "cancelled" else "failed"
        text = f"child execution {label} {verb}"
        if child_message:
            text += f": {child_message}"
        super().__init__(text)


class ResourceNotFoundError(FlowApiError):
    """A named resource does not exist, e.g. ``this.flow('X')`` where no flow X is in the workspace."""


class FlowTimeoutError(FlowApiError):
    """Waiting for an execution took longer than the timeout given."""


class ConnectorError(FlowApiError):
    """A connector could not be used: unknown ``connector_type`` or bad parameters."""


class NotInsideFlowError(FlowApiError):
    """A call that needs a running execution was made outside of one (e.g. in a plain shell)."""
