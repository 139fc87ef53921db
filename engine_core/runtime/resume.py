"""Durable executions across engines: resuming what a gone engine left running, and
suspending what runs when this engine stops cleanly.

``resume_orphans`` is the first command of a starting engine (one round: committed, then
published). It claims the active executions of engine sessions that are gone (a conditional
update: two engines starting at once claim disjoint sets), ends those that are not resumed as
before ("engine stopped while running"), and rebuilds the rest in memory: the tree's links, the
locks they held, and for each flow its journal as a :class:`~engine_core.journal_keys.JournalPlan`
that goes to its worker with RUN. The handler runs again; every journaled call is answered from
the plan; the last call, if it was still waiting (a child, a sleep, a form, a lock, this.pause()),
is asked again with ``reattach`` and the op's family waits for it again (``Journal.reattacher``).
Executions are queued deepest first; a child that ended is never run again, its parent's
journal holds its answer.

``suspend_all`` runs in a clean shutdown (the IDE closed, ``Engine.close()``): durable trees
keep their rows running/paused with a message, their locks are kept for the next engine, and
their workers are stopped as a crash would stop them, so the next engine resumes them exactly
as after a kill -9. Everything else is cancelled as before by the caller.

``plan_for`` builds one execution's plan; a replay uses it, and so does ``resume_elsewhere``:
a durable execution whose cluster worker was lost (the machine, not the flow) runs again on
another worker from its journal, in this engine, while the rest of its tree goes on."""

from __future__ import annotations

import json
import logging
import time
from multiprocessing.connection import wait as connection_wait
from typing import TYPE_CHECKING, Any, Iterable

import sqlalchemy as sa

from .. import connectors
from .. import events as ev
from .. import journal_keys
from ..connectors.spec import MASK
from ..errors import UnknownFlowError
from ..store import STOPPED_MESSAGE
from ..store.schema import logs
from .active import Active

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace
    from .dispatcher import Dispatcher

log = logging.getLogger(__name__)

SUSPENDED_MESSAGE = "suspended: the engine stopped; the next engine resumes it"
NOT_RESUMED_DEBUG = " (debug sessions are not resumed)"
NOT_RESUMED_REPLAY = " (replays are not resumed)"
NOT_RESUMED_FLOW = " (resume is off for this flow)"


def resumed_message(lost_s: float) -> str:
    """What the tree shows on a resumed execution: 'resumed after restart (12 s lost)'."""
    lost = f"{lost_s:.1f}" if lost_s < 10 else f"{lost_s:.0f}"
    return f"resumed after restart ({lost} s lost)"


def interrupted_message(kind: str, inputs: dict) -> str:
    what = kind
    if kind == "REST":
        what = f"REST {str(inputs.get('method') or 'GET').upper()}"
    return (f"interrupted: the engine stopped while this connection ran; it is not repeated because it may "
            f"have acted ({what}). Wrap it in this.using('retry') if repeating is safe")


# -- resume ----------------------------------------------------------------------------------

def resume_orphans(d: "Dispatcher") -> list[int]:
    """Claim and resume (or end) the executions gone engines left active; the resumed ids.
    Runs on the dispatcher thread, as its first command after the session is open."""
    store = _store(d)
    dead = store.dead_sessions() if hasattr(store, "dead_sessions") else []
    rows = d.writer.claim_orphans(d.session_id, dead)
    if not rows:
        return []
    now = time.time()
    by_id = {r["id"]: r for r in rows}
    resume_on = resume_enabled(d)
    groups: dict[int, list[dict]] = {}
    for row in rows:
        groups.setdefault(_top(row, by_id), []).append(row)
    resumed: list[dict] = []
    for top, members in groups.items():
        reason = _not_resumed(by_id[top], resume_on)
        if reason is None:
            resumed.extend(members)
        else:
            _end_rows(d, [m["id"] for m in members], STOPPED_MESSAGE + reason, now)
    if not resumed:
        return []
    return _resume(d, store, resumed, by_id, now)


def resume_enabled(d: "Dispatcher") -> bool:
    """Resume is on: journaling is (EngineOptions.journal) and the workspace did not turn it
    off (``.flowdesk/config.toml``: ``[executions] resume = false``)."""
    journal = getattr(d, "journal", None)
    return bool(getattr(d.options, "journal", True)) and bool(getattr(journal, "resume_on", True))


def _not_resumed(top: dict, resume_on: bool) -> str | None:
    """Why the tree under ``top`` is not resumed (the suffix of its message), or None."""
    if top.get("replay_of") is not None:
        return NOT_RESUMED_REPLAY
    if top.get("mode") == "development":
        return NOT_RESUMED_DEBUG
    if not resume_on or not top.get("durable"):
        return ""  # as before resume existed: "engine stopped while running"
    return None


def _resume(d: "Dispatcher", store: Any, rows: list[dict], by_id: dict[int, dict], now: float) -> list[int]:
    writer = d.writer
    depth = _Depths(writer, by_id)
    rows.sort(key=lambda r: (depth(r), r["id"]))  # parents before their children
    flow_ids = [r["id"] for r in rows if r["kind"] == "flow"]
    journals = writer.journal_entries(flow_ids) if flow_ids else {}
    failed: list[tuple[Active, str]] = []
    actives: list[Active] = []
    for row in rows:
        active, problem = _rebuild(d, row, depth(row))
        d.active[active.id] = active
        parent = d.active.get(active.parent_id) if active.parent_id is not None else None
        if parent is not None:
            parent.children.add(active.id)
        actives.append(active)
        if problem is not None:
            failed.append((active, problem))
    # Locks the claimed executions held: theirs again in this engine.
    adopted = writer.adopt_locks(d.session_id, [a.id for a in actives])
    if adopted:
        table = getattr(d, "locks", None)
        if table is not None and hasattr(table, "adopt"):
            table.adopt(adopted)
    last_seqs = {a.id: (journals.get(a.id) or [None])[-1] for a in actives if a.kind == "flow"}
    skips = _notes_after(writer, store, {i: (e.seq if e is not None else 0) for i, e in last_seqs.items()})
    resumed: list[int] = []
    marks: list[tuple[int, float, float, str]] = []  # (id, at, lost_s, message): one executemany
    failing = {a.id for a, _ in failed}
    for active in actives:
        if active.id in failing:
            continue
        row = by_id[active.id]
        entries = journals.get(active.id, []) if active.kind == "flow" else []
        if active.kind == "flow":
            plan, secrets = _plan(entries, journal_keys.RESUME, skips.get(active.id, 0))
            active.plan = plan
            active.secrets = tuple(dict.fromkeys(active.secrets + secrets))
            active.next_seq = (entries[-1].seq + 1) if entries else 1
            last = entries[-1] if entries else None
            active.pending_entry = last if last is not None and last.state == journal_keys.PENDING else None
            active.repause = row["status"] == "paused" and active.pending_entry is None and active.started
            active.held = _held(row, journals.get(row["parent_id"], ()), journals.get(active.id, ()))
        lost = max(0.0, now - _last_step(row, entries))
        message = resumed_message(lost)
        marks.append((active.id, now, lost, message))
        d.emit(ev.ExecutionResumed(active.id, lost, now))
        d.emit(ev.StatusChanged(active.id, row["status"], message, now))
        resumed.append(active.id)
    if marks:
        writer.mark_resumed_many(marks)
    # Those that cannot go on end now (deepest first): their parents, re-attaching to them,
    # get their end like any child's.
    for active, problem in sorted(failed, key=lambda f: -f[0].depth):
        if d.active.get(active.id) is active:
            d.finish(active, "error", problem)
    # Deepest first: children run (and end) before the parents that wait for them.
    for active in sorted(actives, key=lambda a: -a.depth):
        if d.active.get(active.id) is not active or active.id in failing:
            continue
        if active.held:
            continue  # made with run=False and not run yet: its parent's run() queues it
        d.enqueue(active)
    if resumed:
        log.info("resumed %d execution(s) left by an engine that stopped", len(resumed))
    return resumed


def _rebuild(d: "Dispatcher", row: dict, depth: int) -> tuple[Active, str | None]:
    """The in-memory execution for a claimed row, and why it cannot be resumed (or None)."""
    problem = None
    path = source = None
    inputs = row["inputs"] or "{}"
    if row["kind"] == "flow":
        try:
            flow_path, source = d.workspace.read_flow(row["flow"])
            path = str(flow_path)
        except UnknownFlowError:
            problem = f"flow {row['flow']!r} no longer exists; cannot resume"
        if not row.get("durable"):
            problem = STOPPED_MESSAGE + NOT_RESUMED_FLOW
    else:
        problem = _connection_problem(row, inputs)
    active = Active(
        id=row["id"], parent_id=row["parent_id"], root_id=row["root_id"] or row["id"], flow=row["flow"],
        name=row["name"], kind=row["kind"], mode=row["mode"], inputs=inputs, path=path, source=source,
        depth=depth, status="queued", started=row["started_at"] is not None, durable=bool(row.get("durable")),
    )
    try:
        active.outputs = dict(json.loads(row["outputs"] or "{}"))
    except (TypeError, ValueError):
        active.outputs = {}
    if row["kind"] == "connection" and problem is None:
        try:
            active.secrets = tuple(connectors.secret_values(row["flow"], json.loads(inputs)))
        except ValueError:
            pass
    return active, problem


def _connection_problem(row: dict, inputs_text: str) -> str | None:
    """A connection left unfinished is run again only if it never started, or if its call
    cannot have acted (``ConnectorSpec.repeatable``); and only if its stored inputs are whole
    (secrets are stored masked: the real ones lived in the dead engine's memory)."""
    try:
        inputs = json.loads(inputs_text)
    except ValueError:
        inputs = {}
    started = row["started_at"] is not None
    if started:
        try:
            repeatable = connectors.spec(row["flow"]).is_repeatable(inputs)
        except Exception:  # an unknown type (a plugin that is gone): not repeated
            repeatable = False
        if not repeatable:
            return interrupted_message(row["flow"], inputs if isinstance(inputs, dict) else {})
    if MASK in inputs_text:
        verb = "interrupted" if started else "not started"
        return (f"{verb}: the engine stopped before this connection ended, and it cannot run again here: its "
                f"secret inputs are not stored (only masked)")
    return None


def _held(row: dict, parent_entries: Iterable, own_entries: Iterable) -> bool:
    """A child made with ``run=False`` and not run yet (its parent's ``run()`` queues it)."""
    if row["status"] != "queued" or row["started_at"] is not None or row["parent_id"] is None:
        return False
    if any(True for _ in own_entries):
        return False
    made_held = False
    for entry in parent_entries:
        if entry.op == "run_child" and entry.target == str(row["id"]):
            return False  # run() was asked: queued for real
        if entry.op in ("start_flow", "start_connector") and entry.state == journal_keys.DONE and entry.ok:
            try:
                summary = journal_keys.decode_result(entry.result)
                args = json.loads(entry.args or "{}")
            except ValueError:
                continue
            if isinstance(summary, dict) and summary.get("id") == row["id"] and args.get("run") is False:
                made_held = True
    return made_held


def _last_step(row: dict, entries: list) -> float:
    """When the execution last did something recorded: its last call asked or answered, or
    its start (its creation if it never started)."""
    last = row["started_at"] or row["created_at"] or 0.0
    for entry in entries[-1:]:
        last = max(last, entry.called_at or 0.0, entry.answered_at or 0.0)
    return last


def _end_rows(d: "Dispatcher", ids: list[int], message: str, now: float) -> None:
    for execution_id in d.writer.end_orphans(ids, "error", message, now):
        d.emit(ev.StatusChanged(execution_id, "error", message, now))


def _top(row: dict, by_id: dict[int, dict]) -> int:
    while row["parent_id"] in by_id:
        row = by_id[row["parent_id"]]
    return row["id"]


class _Depths:
    """How deep each claimed execution is (a claimed child's ended parent is looked up)."""

    def __init__(self, writer: Any, by_id: dict[int, dict]):
        self._writer = writer
        self._by_id = by_id
        self._known: dict[int, int] = {}

    def __call__(self, row: dict) -> int:
        return self._of(row["id"], row["parent_id"])

    def _of(self, execution_id: int, parent_id: int | None) -> int:
        known = self._known.get(execution_id)
        if known is not None:
            return known
        if parent_id is None:
            depth = 0
        else:
            parent = self._by_id.get(parent_id) or self._writer.execution_fields(parent_id)
            depth = 0 if parent is None else self._of(parent_id, parent["parent_id"]) + 1
        self._known[execution_id] = depth
        return depth


# -- plans --------------------------------------------------------------------------------

def plan_for(writer: Any, workspace: "Workspace | None", execution_id: int, mode: str,
             store: Any = None) -> journal_keys.JournalPlan:
    """``execution_id``'s journal as the plan its worker answers calls from (``mode``:
    ``journal_keys.RESUME`` or ``REPLAY``), secret references resolved from the keyring.
    Resume also skips the log lines already stored after the last call (``note_skip``; read
    through ``store`` when the writer cannot count them). ``workspace``: the execution's, for
    backends that resume another engine's executions (issue 12); the plan does not need it yet."""
    entries = writer.journal_entries([execution_id]).get(execution_id, [])
    skip = 0
    if mode == journal_keys.RESUME:
        last = entries[-1].seq if entries else 0
        skip = _notes_after(writer, store, {execution_id: last}).get(execution_id, 0)
    return _plan(entries, mode, skip)[0]


def _plan(entries: list, mode: str, note_skip: int) -> tuple[journal_keys.JournalPlan, tuple[str, ...]]:
    resolved: list = []
    secrets: list[str] = []
    for entry in entries:
        entry, found = _resolve_secrets(entry)
        resolved.append(entry)
        secrets.extend(found)
    secrets_t = tuple(dict.fromkeys(secrets))
    return journal_keys.JournalPlan(mode, tuple(resolved), secrets_t, note_skip), secrets_t


def _resolve_secrets(entry) -> tuple[Any, list[str]]:
    """An entry whose result is a secret setting's reference, answered with the keyring's value
    (a key this machine's keyring lacks: that one call fails, naming the setting)."""
    if not entry.result or _REFERENCE not in entry.result:
        return entry, []
    try:
        value = journal_keys.decode_result(entry.result)
    except ValueError:
        return entry, []
    key = _reference_key(value)
    if key is None:
        return entry, []
    from ..vcs import secrets as vcs_secrets  # the vcs package loads GitPython: only when needed

    try:
        text = vcs_secrets.get(key)
    except vcs_secrets.SecretError as exc:
        return _refused(entry, f"the secret setting {entry.target!r} cannot be read from the keyring: {exc}"), []
    if text is None:
        return _refused(entry, f"the secret setting {entry.target!r} is not in this machine's keyring (key "
                               f"{key!r}); its journal holds only a reference to it"), []
    from .journal import _secret_strings

    return entry._replace(result=journal_keys.encode_result(text)), list(_secret_strings(text))


_REFERENCE = "$flowdesk_secret"


def _reference_key(value: Any) -> str | None:
    if isinstance(value, dict) and set(value) == {_REFERENCE} and isinstance(value[_REFERENCE], dict):
        key = value[_REFERENCE].get("key")
        return key if isinstance(key, str) else None
    return None


def _refused(entry, message: str):
    return entry._replace(ok=False, result=journal_keys.encode_result(["PermissionDenied", message]))


def _notes_after(writer: Any, store: Any, last_seqs: dict[int, int]) -> dict[int, int]:
    """Per execution, how many log lines it stored after its last journaled call (a resumed
    handler sends them again: the worker skips as many)."""
    if not last_seqs:
        return {}
    counting = getattr(writer, "notes_after", None)
    if counting is not None:
        return counting(last_seqs)
    if store is None or "after_seq" not in logs.c:
        return {}
    found: dict[int, int] = {}
    ids = list(last_seqs)
    with store.engine.connect() as conn:
        for at in range(0, len(ids), 500):
            chunk = ids[at:at + 500]
            rows = conn.execute(sa.select(logs.c.execution_id, logs.c.after_seq, sa.func.count())
                                .where(logs.c.execution_id.in_(chunk))
                                .group_by(logs.c.execution_id, logs.c.after_seq)).all()
            for execution_id, after_seq, count in rows:
                if (after_seq or 0) == last_seqs[execution_id]:
                    found[execution_id] = found.get(execution_id, 0) + count
    return found


# -- a cluster's lost worker -------------------------------------------------------------------

def resume_elsewhere(d: "Dispatcher", active: Active, why: str) -> str | None:
    """``active``'s worker was lost (a cluster's machine or Dask worker went, not the flow):
    run it again from its journal on another worker, as a new engine would after a crash, and
    say so on it; None then. Its children elsewhere go on; its locks stay its own. When it may
    not be, why not (:func:`not_resumed_elsewhere`): the caller ends it in error with that."""
    refused = not_resumed_elsewhere(d, active)
    if refused is not None:
        return refused
    worker = active.worker
    for parked in list(getattr(worker, "parked", ())):
        parked.done = True  # the lost run's waits answer nobody (and take no lock for it)
    d.journal.forget(active)
    d.journal.flush()  # this round's rows: plan_for reads them (same transaction)
    row = d.writer.execution_fields(active.id) or {}
    entries: list = []
    if active.kind == "flow":
        store = _store(d)
        active.plan = plan_for(d.writer, d.workspace, active.id, journal_keys.RESUME, store)
        entries = list(active.plan.entries)
        active.secrets = tuple(dict.fromkeys(active.secrets + active.plan.secrets))
        active.next_seq = entries[-1].seq + 1 if entries else 1
        last = entries[-1] if entries else None
        active.pending_entry = last if last is not None and last.state == journal_keys.PENDING else None
        active.repause = active.paused_by_signal and active.pending_entry is None
    active.paused_by_signal = False
    d.scheduler.released(active)
    active.worker = None
    now = time.time()
    lost = max(0.0, now - _last_step(row, entries)) if row else 0.0
    message = f"resumed on another worker: {why} ({lost:.1f} s lost)"
    d.writer.mark_resumed_many([(active.id, now, lost, message)])
    active.status = "queued"
    d.emit(ev.ExecutionResumed(active.id, lost, now))
    d.emit(ev.StatusChanged(active.id, "queued", message, now))
    d.enqueue(active)
    return None


def not_resumed_elsewhere(d: "Dispatcher", active: Active) -> str | None:
    """Why an execution whose worker was lost is not run again elsewhere (appended to its
    error), or None when it is: a durable flow in productive mode, resume on, fewer runs than
    ``ClusterOptions.max_attempts``; a connection that had not started or may be repeated."""
    not_durable = "; it is not durable, so it was not resumed"
    if active.inline or active.mode != "productive" or not resume_enabled(d):
        return not_durable
    if active.kind == "connection":  # a leaf its durable parent's journal records
        parent = d.active.get(active.parent_id) if active.parent_id is not None else None
        if parent is None or not parent.durable:
            return not_durable
        if _connection_problem({"started_at": 0 if active.started else None, "flow": active.flow},
                               active.worker_inputs):
            return "; it may have acted, so it was not run again"
    elif not active.durable:
        return not_durable
    from ..cluster.config import ClusterOptions  # here: a local run's start never imports the cluster package

    # A lost worker on this machine (tests) has no cluster options: their default applies.
    most = (d.options.cluster or ClusterOptions).max_attempts
    runs = d.writer.execution_attempt(active.id)
    if runs >= most:
        return f"; it was resumed too often ({runs} runs of at most {most}), so it was not resumed again"
    return None


# -- suspend --------------------------------------------------------------------------------

def suspend_all(d: "Dispatcher") -> list[int]:
    """A clean shutdown: leave every durable tree for the next engine (rows stay as they are,
    with :data:`SUSPENDED_MESSAGE`; their workers are stopped without running the flows'
    cleanup, as a crash would; connections running get ``cancel_grace_s`` to end first). Returns the suspended ids: their locks are kept
    (``Writer.close_session(keep_locks_of=...)``). The caller cancels the rest."""
    if not resume_enabled(d):
        return []
    tops = [a for a in d.active.values() if (a.parent_id is None or a.parent_id not in d.active)
            and a.durable and a.mode == "productive" and not a.inline]
    _let_connections_end(d, tops)
    now = time.time()
    suspended: list[int] = []
    for top in tops:
        if d.active.get(top.id) is not top:
            continue
        tree = _subtree(d, top)
        for active in tree:
            d.writer.save_execution(active.id, name=None, message=SUSPENDED_MESSAGE)
            d.emit(ev.StatusChanged(active.id, active.status, SUSPENDED_MESSAGE, now))
        for active in tree:
            d.active.pop(active.id, None)
            if active.worker is not None and not active.worker.dead:
                d.backend.kill(active.worker)
            active.worker = None
            d.unqueue(active)
            suspended.append(active.id)
    return suspended


def _let_connections_end(d: "Dispatcher", tops: list[Active]) -> None:
    """Give the connections running in these trees up to ``cancel_grace_s`` to end: one that
    ends is answered into its parent's journal (a POST that finished is not "interrupted" for
    the next engine); one still running then is left to the next engine's rules."""
    deadline = time.monotonic() + max(0.0, d.options.cancel_grace_s)
    backend = d.backend
    while True:
        workers = set()
        for top in tops:
            if d.active.get(top.id) is not top:
                continue
            for active in _subtree(d, top):
                worker = active.worker
                if active.kind == "connection" and worker is not None and not worker.dead \
                        and not active.paused_by_signal:
                    workers.add(worker)
        left = deadline - time.monotonic()
        if not workers or left <= 0:
            return
        # Their pipes/sockets and their death signs (a local sentinel, a remote one's wake pipe).
        watched = [obj for obj in backend.waitables() if backend.by_waitable(obj) in workers]
        d.inbox.take(connection_wait(watched, timeout=left))


def _subtree(d: "Dispatcher", top: Active) -> list[Active]:
    found, todo = [], [top]
    while todo:
        active = todo.pop()
        found.append(active)
        todo.extend(d.active[c] for c in active.children if c in d.active)
    return found


def _store(d: "Dispatcher") -> Any:
    return getattr(d, "store", None) or d._store
