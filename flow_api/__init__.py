"""The flow API: what a flow script imports.

A flow is a module with::

    import flow_api

    def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
        child = this.flow('Calculator', initial_value=42)
        this.log(child.get('output_value'))
        return this.success('all done')

The names and behaviour follow Cloudomation Engine's ``flow_api`` so that flows written
for it run in Flowdesk unchanged (old-style ``def handler(system, this)`` flows too).
"""

from . import exceptions
from .exceptions import (
    ConnectorError,
    DependencyFailedError,
    DependencyTimeoutError,
    EngineException,
    ExecutionCancel,
    ExecutionError,
    ExecutionSuccess,
    FlowApiError,
    FlowTimeoutError,
    InternalError,
    InvalidInputError,
    LifecycleSignal,
    LockTimeoutError,
    MessageResponseTimeoutError,
    MissingInputError,
    NotInsideFlowError,
    PermissionDenied,
    ResourceNotFoundError,
    TimeoutExceededError,
)
from .execution import Execution
from .messages import Message
from .resources import Client, File, Flow, Setting, User
from .status import ReturnWhen
from .system import System
from .wrappers import Wrapped

__all__ = [
    "Client", "ConnectorError", "DependencyFailedError", "DependencyTimeoutError", "EngineException",
    "Execution", "ExecutionCancel", "ExecutionError", "ExecutionSuccess", "File", "Flow", "FlowApiError",
    "FlowTimeoutError", "InternalError", "InvalidInputError", "LifecycleSignal", "LockTimeoutError", "Message",
    "MessageResponseTimeoutError", "MissingInputError", "NotInsideFlowError", "PermissionDenied",
    "ResourceNotFoundError", "ReturnWhen", "Setting", "System", "TimeoutExceededError", "User", "Wrapped",
    "exceptions",
]
