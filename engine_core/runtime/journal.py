"""The engine's side of durable executions: every flow API call of a durable execution gets a
journal row, written in the round (transaction) that makes the call's state change.

``begin`` runs before a call's handler and prepares the row; a handler that defers records
what it waits on with ``ref``; ``answer`` is hooked into ``Dispatcher.reply`` (every reply,
at once or later, goes through it); ``flush`` hands the round's rows to the writer right
before the dispatcher's one commit, ``discard`` forgets them on a rollback. A call answered in
the round it was asked is one INSERT of a done row; one answered later is an INSERT (pending)
now and an UPDATE then, each batched with the round's other rows (executemany, no extra
commit). So after any crash the journal is an exact prefix of what the database says happened.

A resumed execution's last call, if it was still waiting, comes again with ``reattach``: its row
exists already (``Active.pending_entry``); the op's family may say how to wait for it again
(``reattacher``), else the handler runs again."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from typing import TYPE_CHECKING, Any, Callable

from flow_api import EngineException

from .. import journal_keys, redact
from .active import Active

if TYPE_CHECKING:  # pragma: no cover
    from ..workspace import Workspace
    from .backends import Handle as Worker
    from .ops import Call

# Calls that are not journaled: a replay's own requests (a replay is never durable anyway).
_NOT_JOURNALED = frozenset(("replay_child", "journal_end"))
# Results of these ops read a setting's value: a secret setting's is stored as its reference.
_SETTING_READS = frozenset(("setting_get",))
_SETTING_WRITES = frozenset(("setting_save", "setting_list_append"))
# An inline child's spec without its code and real inputs (a connection's hold its secrets).
_INLINE_UNJOURNALED = frozenset(("source", "inputs"))
FILE_READ_LIMIT = 16 * 1024 * 1024  # bytes of a file_read answer kept in the journal
_OPT_OUT = re.compile(r"^FLOWDESK_RESUME\s*(?::[^=\n]*)?=\s*False\b", re.MULTILINE)


class InternalError(EngineException):
    """The engine's bookkeeping of a flow's calls went wrong (not the flow's fault)."""


class _Open:
    """A journaled call not answered yet."""

    __slots__ = ("row", "active", "new")

    def __init__(self, row: dict, active: Active, new: bool):
        self.row = row  # the journal row (column names); filled in place while ``new``
        self.active = active
        self.new = new  # not yet written: its answer goes into the INSERT


class Journal:
    def __init__(self, writer: Any, workspace: "Workspace", *, enabled: bool = True):
        self._writer = writer
        self.enabled = enabled  # EngineOptions.journal (False only as the benchmark's baseline)
        self.resume_on = _workspace_resume(workspace)
        self.secret_index = SecretIndex(workspace)
        self._new: list[_Open] = []  # asked this round: INSERT at flush
        self._answered: list[dict] = []  # answers of rows written in earlier rounds: UPDATE at flush
        # Keyed by the worker (handle) object, not its pid: a cluster's pids collide across hosts,
        # and a run resumed elsewhere must not meet its lost run's calls.
        self._open: dict[tuple[Any, int], _Open] = {}  # (worker, request id) -> call
        self._open_of: dict[int, tuple[Any, int]] = {}  # execution id -> its unanswered call's key
        self._reattach: dict[str, Callable[..., Any]] = {}
        self._opted_out: dict[str, bool] = {}

    # -- who is durable -------------------------------------------------------------------------
    def durable(self, *, kind: str, source: str | None, parent: Active | None, replay_of: int | None) -> bool:
        """Decided when an execution is created: journaled (and resumed after a dead engine)
        unless journaling is off, resume is off for the workspace or the flow
        (``FLOWDESK_RESUME = False``), it is a connection (a leaf: its parent's call records
        it), a replay, or a child of an execution that is not durable."""
        if not (self.enabled and self.resume_on) or kind != "flow" or replay_of is not None:
            return False
        if parent is not None and not parent.durable:
            return False
        return not self.opted_out(source)

    def opted_out(self, source: str | None) -> bool:
        if not source:
            return False
        known = self._opted_out.get(source)
        if known is None:
            if len(self._opted_out) > 256:
                self._opted_out.clear()
            known = self._opted_out[source] = "FLOWDESK_RESUME" in source and bool(_OPT_OUT.search(source))
        return known

    # -- the call path --------------------------------------------------------------------------
    def reattacher(self, op: str, fn: Callable[..., Any]) -> None:
        """How a resumed execution's pending ``op`` waits again: ``fn(call, ref, **payload)``
        returns the reply or DEFER. Without one, the op's handler runs again."""
        self._reattach[op] = fn

    def begin(self, worker: "Worker", request_id: int, caller: Active, op: str, payload: dict,
              seq: int | None = None, line: int | None = None, reattach: bool = False
              ) -> Callable[..., Any] | None:
        """A call arrived (before its handler runs). Returns a re-attach function for a resumed
        pending call whose family registered one (called instead of the handler)."""
        if not caller.durable or op in _NOT_JOURNALED:
            return None
        if reattach:
            return self._reattached(worker, request_id, caller, op, seq)
        expected = caller.next_seq
        if seq is None:
            seq = expected  # a caller that does not count: the engine does
        elif seq == 0:
            return None  # not one of the flow's own calls (a journal re-read: protocol.Call)
        elif seq != expected:
            raise InternalError(f"flow API call {seq} of {caller.label} arrived while call {expected} was "
                                "expected: are several threads calling the flow API at once?")
        caller.next_seq = seq + 1
        secrets = caller.secrets
        if op in _SETTING_WRITES and payload.get("name") in self.secret_index:
            # A secret's new value is a known secret from here on: never in a journal in clear.
            caller.secrets = secrets = secrets + _secret_strings(payload.get("value"))
        target, args_hash, args = journal_keys.identify(op, payload, caller.id, secrets)
        row = {"execution_id": caller.id, "seq": seq, "op": op, "target": target[:255], "args_hash": args_hash,
               "args": args[:journal_keys.ARGS_LIMIT], "line": line, "state": journal_keys.PENDING, "ok": None,
               "result": None, "ref": None, "called_at": time.time(), "answered_at": None}
        entry = _Open(row, caller, True)
        self._new.append(entry)
        key = self._open_of[caller.id] = (worker, request_id)
        self._open[key] = entry
        return None

    def _reattached(self, worker: "Worker", request_id: int, caller: Active, op: str, seq: int | None):
        pending, caller.pending_entry = caller.pending_entry, None
        if pending is None or (seq is not None and seq != pending.seq) or pending.op != op:
            raise InternalError(f"{caller.label} re-attached call {seq} ({op}), but its journal's pending "
                                f"call is {getattr(pending, 'seq', None)} ({getattr(pending, 'op', None)})")
        caller.next_seq = max(caller.next_seq, pending.seq + 1)
        row = {"execution_id": caller.id, "seq": pending.seq, "op": op, "target": pending.target, "ref": pending.ref}
        key = self._open_of[caller.id] = (worker, request_id)
        self._open[key] = _Open(row, caller, False)
        fn = self._reattach.get(op)
        if fn is None or not pending.ref:
            return None
        ref = json.loads(pending.ref)
        return lambda call, **payload: fn(call, ref, **payload)

    def ref(self, call: "Call", **ref: Any) -> None:
        """A handler deferred ``call``: record what it waits on (a resume waits for it again)."""
        entry = self._open.get((call.worker, call.request_id))
        if entry is not None and entry.new:
            entry.row["ref"] = _ref_text(ref)

    def answer(self, worker: "Worker", request_id: int, ok: bool, value: Any) -> None:
        """Every reply to a flow goes through here (``Dispatcher.reply``)."""
        if not self._open:
            return
        entry = self._open.pop((worker, request_id), None)
        if entry is None:
            return
        row, active = entry.row, entry.active
        self._open_of.pop(active.id, None)
        result = self._result(row, active, ok, value)
        now = time.time()
        if entry.new:
            row["state"], row["ok"], row["result"], row["answered_at"] = journal_keys.DONE, ok, result, now
        else:
            self._answered.append({"execution_id": row["execution_id"], "seq": row["seq"], "ok": ok,
                                   "result": result, "answered_at": now})

    def _result(self, row: dict, active: Active, ok: bool, value: Any) -> str | None:
        if ok and row["op"] in _SETTING_READS and row["target"] in self.secret_index:
            if row["op"] == "setting_get" and isinstance(value, str):
                active.secrets = active.secrets + _secret_strings(value)
            return journal_keys.encode_result(self.secret_index.reference(row["target"]))
        if ok and row["op"] == "file_read" and isinstance(value, bytes) and len(value) > FILE_READ_LIMIT:
            # Too big to keep: a resume reads the file again (and checks it is the same).
            return journal_keys.encode_result({"$too_big": hashlib.sha256(value).hexdigest(), "size": len(value)})
        if ok and isinstance(value, dict) and "inline" in value:  # a child its worker runs (debugging):
            value = {"inline": {k: v for k, v in value["inline"].items() if k not in _INLINE_UNJOURNALED}}
        try:
            text = journal_keys.encode_result(value if ok else list(value))
        except (TypeError, ValueError):
            text = journal_keys.encode_result({"$unjournaled": type(value).__name__})
        return redact.mask_values(text, active.secrets) if active.secrets else text

    # -- the round's commit -----------------------------------------------------------------------
    def flush(self) -> None:
        """Hand this round's rows to the writer; called right before the dispatcher's commit."""
        if self._new:
            new, self._new = self._new, []
            for entry in new:
                entry.new = False
            self._writer.journal_insert([entry.row for entry in new])
        if self._answered:
            answered, self._answered = self._answered, []
            self._writer.journal_answer(answered)

    def discard(self) -> None:
        """The round rolled back: its rows were never written, and its replies are not sent."""
        for entry in self._new:
            if entry.active.next_seq > entry.row["seq"]:
                entry.active.next_seq = entry.row["seq"]
            self.forget(entry.active)
        self._new = []
        self._answered = []

    def forget(self, execution: Active) -> None:
        """``execution`` ended (or its call rolled back): a call it left unanswered stays
        ``pending`` in its journal. (An execution's calls come one at a time.)"""
        key = self._open_of.pop(execution.id, None)
        if key is not None:
            self._open.pop(key, None)


_encode_ref = json.JSONEncoder(separators=(",", ":")).encode


def _ref_text(ref: dict) -> str:
    """``ref`` as JSON; the usual one, a single id (``child=12``), without the encoder."""
    if len(ref) == 1:
        (key, value), = ref.items()
        if type(value) is int:  # keys are the handlers' keyword names: nothing to escape
            return f'{{"{key}":{value}}}'
    return _encode_ref(ref)


# vcs.settings_files.SETTINGS_DIR and vcs.secrets.REFERENCE_KEY: the vcs package loads GitPython,
# which an engine needs only when a workspace has secret settings.
_SETTINGS_DIR = "settings"
_REFERENCE_KEY = "$flowdesk_secret"


class SecretIndex:
    """Which settings are secret: their ``settings/<name>.json`` holds a keyring reference.
    Read again when the settings folder changes (its mtime), so a lookup is one stat."""

    def __init__(self, workspace: "Workspace"):
        self._dir = workspace.root / _SETTINGS_DIR
        self._mtime: float | None = None
        self._keys: dict[str, str] = {}  # file name -> keyring key

    def _fresh(self) -> dict[str, str]:
        try:
            mtime = os.stat(self._dir).st_mtime
        except OSError:
            self._mtime, self._keys = None, {}
            return self._keys
        if mtime != self._mtime:
            keys = {}
            for path in self._dir.glob("*.json"):
                try:
                    text = path.read_text(encoding="utf-8")
                except OSError:
                    continue
                if _REFERENCE_KEY in text:
                    from ..vcs import secrets as vcs_secrets

                    key = vcs_secrets.reference_key(text)
                    if key is not None:
                        keys[path.name] = key
            self._mtime, self._keys = mtime, keys
        return self._keys

    def __contains__(self, name: object) -> bool:
        if not isinstance(name, str) or not self._fresh():
            return False
        from ..vcs.settings_files import file_name

        return file_name(name) in self._keys

    def reference(self, name: str) -> dict:
        """What the journal stores instead of the secret's value."""
        from ..vcs import secrets as vcs_secrets
        from ..vcs.settings_files import file_name

        return json.loads(vcs_secrets.reference_text(self._fresh()[file_name(name)]))


def _secret_strings(value_text: Any) -> tuple[str, ...]:
    """The strings a setting's value (JSON text) holds: each is masked wherever it appears."""
    try:
        value = json.loads(value_text) if isinstance(value_text, str) else value_text
    except ValueError:
        value = value_text
    found: list[str] = []

    def walk(v: Any) -> None:
        if isinstance(v, str):
            if len(v) >= redact.MIN_SECRET_LEN:
                found.append(v)
        elif isinstance(v, dict):
            for item in v.values():
                walk(item)
        elif isinstance(v, (list, tuple)):
            for item in v:
                walk(item)
        elif v is not None and not isinstance(v, bool) and len(str(v)) >= redact.MIN_SECRET_LEN:
            found.append(str(v))

    walk(value)
    if isinstance(value_text, str) and len(value_text) >= redact.MIN_SECRET_LEN:
        found.append(value_text)
    return tuple(found)


def _workspace_resume(workspace: "Workspace") -> bool:
    """``.flowdesk/config.toml``: ``[executions] resume = false`` turns resume (and so
    journaling) off for the workspace's executions."""
    try:
        section = workspace.config().get("executions") or {}
    except Exception:  # an unreadable config is reported where the engine reads db_url
        return True
    return section.get("resume", True) is not False
