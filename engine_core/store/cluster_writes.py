"""The dispatcher's writes for cluster runs (issue 12): claiming a run of an execution, and the
engine session's liveness time. A mixin of :class:`~engine_core.store.writer.Writer`, which
owns the connection, the transaction and the hot-statement runner (``_raw``) these use; kept
apart so each module reads alone (like ``durable_writes``).

A Dask task runs at least once, not exactly once: after a worker dies the scheduler may run it
again, or two supervisors may say hello for one ticket. So every run claims its execution with
a conditional update on ``attempt``; the one that raised it runs, any other is refused."""

from __future__ import annotations

import sqlalchemy as sa

from ..status import ACTIVE
from .schema import engine_sessions, executions

_p = sa.bindparam
_ID = executions.c.id == _p("_id")
# Literal SQL, not bind parameters: the raw runner binds only the statement's own parameters
# (an IN list or ``attempt + 1`` would add parameters it does not fill).
_STILL_ACTIVE = sa.text("executions.status IN (%s)" % ", ".join(f"'{s}'" for s in sorted(ACTIVE)))
_ONE = sa.literal_column("1", sa.Integer)

_ATTEMPT = sa.select(executions.c.attempt).where(_ID)
# RETURNING says whether the row changed: psycopg's rowcount of an UPDATE is not reliable
# enough to decide who runs an execution (see writer._insert_lock).
_CLAIM = (executions.update()
          .where(_ID, executions.c.attempt == _p("_attempt"), _STILL_ACTIVE)
          .values(attempt=executions.c.attempt + _ONE, worker_host=_p("_host"), worker_address=_p("_address"))
          .returning(executions.c.id))
_TOUCH = engine_sessions.update().where(engine_sessions.c.id == _p("_id")).values(seen_at=_p("_now"))


class ClusterWrites:
    """Claims and liveness; mixed into Writer (see the module docstring)."""

    def execution_attempt(self, execution_id: int) -> int:
        """How many runs of ``execution_id`` have claimed it so far (0: none yet); the next run
        claims it with this number. 0 too for an execution that does not exist."""
        row = self._raw(_ATTEMPT, {"_id": execution_id}, write=False).fetchone()
        return int(row[0]) if row else 0

    def claim_run(self, execution_id: int, attempt: int, host: str | None, address: str | None) -> bool:
        """Claim ``execution_id`` for the run that was handed ``attempt`` (its
        :meth:`execution_attempt` when the run was submitted): True, and ``attempt`` is raised
        by one and the worker recorded, if no other run claimed it since and it has not ended;
        False otherwise (that run must not start). Part of the round: commit before the run
        is told to start, so that a second claim sees the first."""
        params = {"_id": execution_id, "_attempt": attempt, "_host": host, "_address": address}
        return self._raw(_CLAIM, params).fetchone() is not None

    def touch_session(self, session_id: int, now: float) -> None:
        """This engine is alive at ``now``: engines on other machines (which cannot look at
        its pid) take a session not seen for ``Store.SESSION_STALE_S`` as gone."""
        self._raw(_TOUCH, {"_id": session_id, "_now": now})
