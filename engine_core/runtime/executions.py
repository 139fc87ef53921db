"""Making an execution: its row, what the dispatcher keeps in memory about it, and its place
in the queue. ``Dispatcher.create`` is :func:`create`."""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING

from .. import events as ev
from .. import redact
from .active import Active

if TYPE_CHECKING:  # pragma: no cover
    from .dispatcher import Dispatcher

_SHAS: dict[str, str] = {}  # flow source -> its sha256 (the scripts table's key)


def create(d: "Dispatcher", *, flow: str, name: str | None, kind: str, inputs: str, mode: str,
           parent: Active | None, path: str | None, source: str | None, inline: bool = False,
           start: bool = True, run_inputs: str | None = None, secrets: tuple[str, ...] = (),
           replay_of: int | None = None) -> Active:
    """A new execution. ``inputs`` is what is stored and shown; ``run_inputs`` (a connection's
    real inputs, secrets included) only goes to the worker, in memory. ``replay_of``: the
    execution a replay replays (never durable). Whether it is durable (journaled, resumed
    after a dead engine) is decided here, once (``Journal.durable``)."""
    now = time.time()
    name = name or flow
    durable = d.journal.durable(kind=kind, source=source, parent=parent, replay_of=replay_of)
    execution_id = d.writer.create_execution(
        flow=flow, name=name, kind=kind, mode=mode, inputs=inputs,
        parent_id=parent.id if parent else None, root_id=parent.root_id if parent else None,
        session_id=d.session_id, at=now, durable=durable, replay_of=replay_of,
        script_sha=script_sha(source) if kind == "flow" else None,
    )
    active = Active(
        id=execution_id, parent_id=parent.id if parent else None,
        root_id=parent.root_id if parent else execution_id, flow=flow, name=name, kind=kind,
        mode=mode, inputs=inputs, path=path, source=source, depth=(parent.depth + 1) if parent else 0,
        inline=inline, run_inputs=run_inputs, secrets=tuple(secrets), durable=durable,
    )
    d.active[execution_id] = active
    if parent is not None:
        parent.children.add(execution_id)
    if start and not inline:  # inline: its parent's worker runs it, marked running by the caller
        d.enqueue(active)
    active.held = not start
    d.emit(ev.ExecutionCreated(
        id=execution_id, parent_id=active.parent_id, root_id=active.root_id, flow=flow, name=name,
        kind=kind, status="queued", inputs=json.loads(inputs), at=now, replay_of=replay_of,
    ))
    return active


def script_sha(source: str | None) -> str | None:
    """The sha of the code a flow execution runs (``executions.script_sha``): a resume says when
    the flow was edited since it ran."""
    if source is None:
        return None
    sha = _SHAS.get(source)
    if sha is None:
        if len(_SHAS) > 1024:
            _SHAS.clear()
        sha = _SHAS[source] = hashlib.sha256(source.encode("utf-8", "surrogatepass")).hexdigest()
    return sha


def store_script(d: "Dispatcher", active: Active) -> None:
    """A flow execution ended: the code it ran goes to ``scripts`` (once per sha; a replay can
    run it). Stored at the end, so that the secret values met meanwhile (connector passwords
    written in the code, secret settings) are masked in it."""
    if active.kind != "flow" or not active.source:
        return
    text = active.source
    if active.secrets:
        text = redact.mask_values(text, active.secrets)
    d.writer.script_put(script_sha(active.source), text)
