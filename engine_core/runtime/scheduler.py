"""Which queued execution runs next; the backend says on which worker.

Children go first: their parents hold workers while they wait. Roots are limited by
``max_parallel``; a debugged root gets a fresh process of its own, which it does not give
back. The backend then tops up its warm capacity (``warm_workers`` idle local workers) so the
next execution starts at once."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from .. import protocol
from .active import Active

if TYPE_CHECKING:  # pragma: no cover
    from .backends import ExecutionBackend, Handle
    from .dispatcher import Dispatcher


class Scheduler:
    def __init__(self, d: "Dispatcher", backend: "ExecutionBackend"):
        self._d = d
        self._backend = backend
        self._roots: collections.deque[int] = collections.deque()
        self._children: collections.deque[int] = collections.deque()
        self.running_roots = 0

    def enqueue(self, active: Active) -> None:
        """Queue an execution to run (a child made with ``run=False`` once it is run)."""
        active.held = False
        (self._children if active.parent_id is not None else self._roots).append(active.id)

    def unqueue(self, active: Active) -> None:
        queue = self._children if active.parent_id is not None else self._roots
        try:
            queue.remove(active.id)
        except ValueError:
            pass

    def released(self, active: Active) -> None:
        """``active`` gave its worker back (it ended)."""
        if active.parent_id is None:
            self.running_roots -= 1

    def schedule(self) -> None:
        active, backend = self._d.active, self._backend
        while self._children:
            worker = backend.obtain(active[self._children[0]])
            if worker is None:
                break
            self._dispatch(self._children.popleft(), worker)
        while self._roots and self.running_roots < self._d.options.max_parallel:
            root = active[self._roots[0]]
            debug = root.mode == "development"
            worker = backend.obtain(root, fresh=debug)  # debugged: a process of its own, not given back
            if worker is None:
                break
            worker.retiring = debug
            self._dispatch(self._roots.popleft(), worker)
        backend.top_up()

    def _dispatch(self, execution_id: int, worker: "Handle") -> None:
        active = self._d.active[execution_id]
        active.worker = worker
        worker.execution_id = execution_id
        if active.parent_id is None:
            self.running_roots += 1
        if not worker.starts_when_claimed:  # a cluster run is running once a worker claims it
            self._d.set_status(active, "running")
        debug = active.mode == "development"
        plan, active.plan = active.plan, None  # a resumed execution's journal: sent once, then dropped
        self._d.signal(worker, (protocol.RUN, execution_id, active.kind, active.flow, active.path,
                                active.source, active.worker_inputs, debug, plan))
