"""The flow API: what a flow script imports.

A flow is a module with::

    import flow_api

    def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
        child = this.flow('Calculator', initial_value=42)
        this.log(child.get('output_value'))
        return this.success('all done')

The names and behaviour follow Cloudomation Engine's ``flow_api`` so that flows written
for it run in Flowdesk unchanged.
"""

from .errors import (
    ConnectorError,
    DependencyFailedError,
    FlowApiError,
    FlowTimeoutError,
    NotInsideFlowError,
    ResourceNotFoundError,
)
from .execution import Execution
from .resources import Flow, Setting
from .system import System

__all__ = [
    "ConnectorError",
    "DependencyFailedError",
    "Execution",
    "Flow",
    "FlowApiError",
    "FlowTimeoutError",
    "NotInsideFlowError",
    "ResourceNotFoundError",
    "Setting",
    "System",
]
