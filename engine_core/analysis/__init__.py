"""Static analysis of flow scripts (no Qt): linting and completion, used by the IDE and tests."""

from .problems import Completion, Problem

__all__ = ["Completion", "Problem"]
