"""Static analysis of flow scripts (no Qt): linting and completion, used by the IDE and tests."""

from .completion import complete, flow_api_members
from .lint import lint
from .problems import Completion, Problem

__all__ = ["Completion", "Problem", "complete", "flow_api_members", "lint"]
