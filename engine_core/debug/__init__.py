"""Debugging flows: a Debug Adapter Protocol client of our own (no Qt), a debug session
that runs a flow tree under debugpy, and the workspace's breakpoints."""

from .breakpoints import Breakpoint, BreakpointStore
from .dap_client import DapClient, DapError
from .session import DebugSession, Frame, Scope, StopInfo, Variable

__all__ = ["Breakpoint", "BreakpointStore", "DapClient", "DapError", "DebugSession", "Frame", "Scope",
           "StopInfo", "Variable"]
