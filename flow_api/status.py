"""Execution statuses as a flow sees them (Cloudomation's names), and the wait modes."""

from __future__ import annotations

# The engine's own statuses (the CLI and the IDE show these).
TERMINAL = ("success", "error", "cancelled")
FAILED = ("error", "cancelled")

_PUBLIC = {
    "success": "ENDED_SUCCESS",
    "error": "ENDED_ERROR",
    "cancelled": "ENDED_CANCELLED",
    "paused": "PAUSED",
    "running": "RUNNING",
    "queued": "WAITING",
}


def public_status(status: str | None) -> str | None:
    """``'success'`` -> ``'ENDED_SUCCESS'`` and so on: what ``execution.get('status')`` returns."""
    return _PUBLIC.get(status, status) if status is not None else None


class ReturnWhen:
    """``system.return_when``: when ``this.wait_for(...)`` returns."""

    ALL_SUCCEEDED = "ALL_SUCCEEDED"
    """All executions ended in success (the default); the first that fails raises."""
    ALL_ENDED = "ALL_ENDED"
    """All executions ended, whatever their ending; nothing is raised for failures."""
    FIRST_ENDED = "FIRST_ENDED"
    """At least one execution ended."""
