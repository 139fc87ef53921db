"""Everything a flow can catch, under Cloudomation's names.

``EngineException`` is the base of the errors; ``LifecycleSignal`` is not an error at all:
``this.success/error/end`` and a cancel raise it to end the execution at once. It derives from
``BaseException`` so that the everyday ``except Exception:`` in a flow cannot swallow it."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from .execution import Execution


class EngineException(Exception):
    """Base class of every error the flow API raises."""


class ResourceNotFoundError(EngineException):
    """A named record does not exist: a setting read before it was saved, ``this.flow('X')``
    where the workspace has no flow X, an unknown execution or message id."""


class DependencyFailedError(EngineException):
    """A child execution (``this.flow`` / ``this.connect``) ended in error or was cancelled.

    ``execution`` is the child; ``status`` and ``child_message`` say how it ended.
    Uncaught, it fails the parent with a message that names the child.
    """

    def __init__(self, execution: "Execution | None" = None, status: str = "error",
                 child_message: str | None = None, label: str | None = None):
        self.execution = execution
        self.status = status
        self.child_message = child_message
        if label is None:  # raised by a flow itself, Cloudomation style: DependencyFailedError('text')
            super().__init__(execution if isinstance(execution, str) else "a dependency failed")
            return
        verb = "was cancelled" if status in ("cancelled", "ENDED_CANCELLED") else "failed"
        text = f"child execution {label} {verb}"
        if child_message:
            text += f": {child_message}"
        super().__init__(text)


class MissingInputError(EngineException):
    """A required input was not given."""


class InvalidInputError(EngineException):
    """An input has a value the call cannot use."""


class PermissionDenied(EngineException):
    """The call is not allowed (e.g. releasing a lock another execution holds)."""


class InternalError(EngineException):
    """The engine failed to carry out the call; its log says more."""


class TimeoutExceededError(EngineException):
    """A wait took longer than the timeout given."""


class LockTimeoutError(TimeoutExceededError):
    """``setting.acquire(timeout=...)`` did not get the lock in time."""


class DependencyTimeoutError(TimeoutExceededError):
    """``child.wait(timeout=...)`` / ``this.wait_for(..., timeout=...)`` passed its timeout."""


class MessageResponseTimeoutError(TimeoutExceededError):
    """``message.wait(timeout=...)``: nobody answered the form in time."""


class ConnectorError(EngineException):
    """A connector could not be used: unknown ``connector_type`` or bad parameters."""


class NotInsideFlowError(EngineException):
    """A call that needs a running execution was made outside of one (e.g. in a plain shell)."""


# The names Flowdesk used before it followed Cloudomation's; flows may still catch them.
FlowApiError = EngineException
FlowTimeoutError = TimeoutExceededError


class LifecycleSignal(BaseException):
    """Ends the execution at once with ``status`` and ``message``. Raised by
    ``this.success()``, ``this.error()``, ``this.end()`` and by a cancel; the engine catches it.
    Catch it only to clean up, and re-raise."""

    status = "success"

    def __init__(self, message: str | None = None):
        super().__init__(message)
        self.message = message


class ExecutionSuccess(LifecycleSignal):
    """``this.success(message)``: the execution ends in success."""

    status = "success"


class ExecutionError(LifecycleSignal):
    """``this.error(message)``: the execution ends in error."""

    status = "error"


class ExecutionCancel(LifecycleSignal):
    """The execution was cancelled; ``finally:`` blocks run, then the engine ends it."""

    status = "cancelled"


__all__ = [
    "ConnectorError", "DependencyFailedError", "DependencyTimeoutError", "EngineException",
    "ExecutionCancel", "ExecutionError", "ExecutionSuccess", "FlowApiError", "FlowTimeoutError",
    "InternalError", "InvalidInputError", "LifecycleSignal", "LockTimeoutError",
    "MessageResponseTimeoutError", "MissingInputError", "NotInsideFlowError", "PermissionDenied",
    "ResourceNotFoundError", "TimeoutExceededError",
]
