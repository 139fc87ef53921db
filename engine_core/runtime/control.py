"""Cancelling, pausing and resuming execution trees (from the IDE, the CLI, or a flow's
``child.cancel()/pause()/resume()`` and ``this.pause()``).

A cancel is delivered, not imposed: the worker gets SIGTERM, the flow sees
``ExecutionCancel`` (its ``finally:`` blocks run) and reports its end; a flow that does not
end within ``EngineOptions.cancel_grace_s`` is killed with its process group. Debugged
(development mode) executions are killed at once: a flow stopped at a breakpoint cannot run
its cleanup. Pausing a running child stops its process group (SIGSTOP) where it is;
``this.pause()`` parks the flow in the engine until someone resumes it."""

from __future__ import annotations

import signal
import time
from types import ModuleType
from typing import TYPE_CHECKING

from flow_api import InvalidInputError

from .active import Active

if TYPE_CHECKING:  # pragma: no cover
    from .dispatcher import Dispatcher


def cancel_tree(d: "Dispatcher", active: Active, message: str, *, within_tree: bool = False,
                grace: bool = True) -> None:
    """Cancel ``active`` and its running descendants, deepest first."""
    if active.inline and not within_tree:
        # It runs on its ancestor's thread (debugging): only ending that process stops it.
        host = active
        while host.inline and host.parent_id in d.active:
            host = d.active[host.parent_id]
        if host is not active:
            cancel_tree(d, host, message, grace=grace)
            return
    for child_id in list(active.children):
        child = d.active.get(child_id)
        if child is not None:
            cancel_tree(d, child, f"parent execution {active.label} was cancelled", within_tree=True, grace=grace)
    if active.id not in d.active:
        return
    if active.worker is None:  # queued, never run, or inline (its host ends it)
        if not active.inline:
            d.unqueue(active)
        d.finish(active, "cancelled", message, kill=True)
        return
    if not grace or active.mode == "development" or d.options.cancel_grace_s <= 0:
        d.finish(active, "cancelled", message, kill=True)
        return
    if active.cancelling is not None:
        return  # already told; the timer below ends it if it does not end by itself
    active.cancelling = message
    d.signal(active.worker, ("signal", signal.SIGTERM))
    if active.paused_by_signal:  # a stopped process cannot see the cancel
        d.signal(active.worker, ("signal", signal.SIGCONT))
    d.waits.add_timer(time.monotonic() + d.options.cancel_grace_s, lambda: _force_end(d, active))


def cancel_orphans(d: "Dispatcher", parent: Active, status: str) -> None:
    """``parent`` ended: its children still running (or never run) end with it unless it succeeded."""
    for child_id in list(parent.children):
        child = d.active.get(child_id)
        if child is not None and (status != "success" or child.held):
            reason = "was never run" if child.held and status == "success" else f"ended in {status}"
            cancel_tree(d, child, f"parent execution {parent.label} {reason}")


def _force_end(d: "Dispatcher", active: Active) -> None:
    if d.active.get(active.id) is active:
        d.finish(active, "cancelled", f"{active.cancelling} (killed: it did not end within "
                                      f"{d.options.cancel_grace_s:g} s of the cancel)", kill=True)


def pause_tree(d: "Dispatcher", active: Active) -> None:
    """Stop a running execution and its children where they are."""
    if active.inline or active.mode == "development":
        raise InvalidInputError(f"execution {active.label} is being debugged: pause it in the debugger")
    if active.status == "paused":
        return
    # Still queued (on a cluster: handed to Dask, no worker has taken it yet): nothing to stop.
    if active.worker is None or active.status == "queued":
        raise InvalidInputError(f"execution {active.label} has not started yet; pause it once it runs")
    for child_id in list(active.children):
        child = d.active.get(child_id)
        if child is not None and child.worker is not None and child.status == "running":
            pause_tree(d, child)  # queued ones start later, as they would on this machine
    active.paused_by_signal = True
    d.signal(active.worker, ("signal", signal.SIGSTOP))
    d.set_status(active, "paused", "paused")


def resume_tree(d: "Dispatcher", active: Active) -> None:
    """Let a paused execution (and the children paused with it) go on."""
    if active.self_pause is not None:  # this.pause(): answer the parked call
        parked, active.self_pause = active.self_pause, None
        parked.answer(d, None)
        d.set_status(active, "running", "resumed")
        return
    if not active.paused_by_signal:
        if active.status == "paused":
            raise InvalidInputError(f"execution {active.label} waits for an answer to its form; answer it instead")
        return
    active.paused_by_signal = False
    d.signal(active.worker, ("signal", signal.SIGCONT))
    d.set_status(active, "running", "resumed")
    for child_id in list(active.children):
        child = d.active.get(child_id)
        if child is not None and child.paused_by_signal:
            resume_tree(d, child)


def poll_requests(d: "Dispatcher") -> None:
    """Cancel, pause and resume requests written to the database by other processes."""
    for execution_id in d.writer.cancel_requests(d.session_id):
        if execution_id in d.active:
            cancel_tree(d, d.active[execution_id], "cancelled by user")
    for execution_id, action in d.writer.control_requests(d.session_id):
        if execution_id in d.active:
            try:
                apply(d, d.active[execution_id], action)
            except InvalidInputError:
                pass  # e.g. resume of one that is not paused: nothing to do, as in the CLI's wording


def apply(d: "Dispatcher", active: Active, action: str) -> str:
    """Carry out ``action`` ('cancel', 'pause', 'resume') on ``active``; returns the new status."""
    if action == "cancel":
        cancel_tree(d, active, "cancelled by user")
    elif action == "pause":
        pause_tree(d, active)
    elif action == "resume":
        resume_tree(d, active)
    else:
        raise InvalidInputError(f"unknown action {action!r}: use cancel, pause or resume")
    return active.status


# -- the engine stopping (and starting) -------------------------------------------------------------

def shut_down(d: "Dispatcher") -> None:
    """A clean stop: durable executions are suspended (the next engine on the database resumes
    them, their locks kept: runtime/resume.py); the rest are cancelled."""
    resume = resume_module()
    kept = tuple(resume.suspend_all(d) or ()) if resume is not None else ()
    for active in [a for a in d.active.values() if a.parent_id is None or a.parent_id not in d.active]:
        if active.id in d.active:
            cancel_tree(d, active, "cancelled: the engine shut down", grace=False)
    if kept:
        d.writer.close_session(d.session_id, keep_locks_of=kept)
    else:
        d.writer.close_session(d.session_id)


def resume_module() -> ModuleType | None:
    """``runtime/resume.py`` (resume after a dead engine, suspend on a clean stop), once it exists."""
    try:
        from . import resume
    except ImportError:
        return None
    return resume

