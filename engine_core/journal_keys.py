"""What a journal entry holds, shared by the engine (recording, resume) and the worker
(answering calls from a journal): one flow API call's identity, its arguments' hash, and its
answer as stored text.

Pure: no engine state, no database. The worker imports it, so it stays cheap to import
(``connectors`` is imported only when a ``start_connector`` call is identified).

A journaled call *matches* a recorded one when ``(op, target)`` are equal: the names of the
call and of what it acts on. ``args_hash`` and ``args`` are recorded to be shown (``flowdesk
show ID --journal``, the "call differs" message), but arguments that differ alone are not a
divergence: code between calls runs again on resume, and ``time.time()`` in an input would
otherwise make every resume fail.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any, NamedTuple

RESUME = "resume"
REPLAY = "replay"

PENDING = "pending"
DONE = "done"

ARGS_LIMIT = 4096  # characters of canonical args kept in the journal (the hash covers them all)

THIS = "@this"  # the calling execution's own id in args: a replay runs under another id


class Entry(NamedTuple):
    """One journaled flow API call (a row of the ``journal`` table)."""

    seq: int  # 1, 2, 3 ... per execution, counted by the worker's channel
    op: str  # the wire op: start_flow, setting_get, sleep ...
    target: str  # what it acts on: flow name, connector type, setting, lock, message id, '' ...
    args_hash: str  # blake2b-128 hex of the canonical, masked args
    args: str | None  # the canonical masked args (JSON), cut at ARGS_LIMIT
    line: int | None  # the flow file's line that made the call
    state: str  # PENDING (asked, not answered) | DONE
    ok: bool | None  # DONE: True = a value, False = an error (class name, message)
    result: str | None  # encode_result(value or [class name, message]); secrets as references
    ref: str | None = None  # JSON: what a pending call waits on ({"child": 12}, {"until": 1.7e9} ...)
    called_at: float = 0.0
    answered_at: float | None = None


class JournalPlan(NamedTuple):
    """What a worker gets with RUN to answer an execution's first calls from its journal."""

    mode: str  # RESUME: continue live after the journal | REPLAY: stop at the journal's end
    entries: tuple  # tuple[Entry, ...] by seq; secret references already resolved (engine side)
    secrets: tuple = ()  # tuple[str, ...]: resolved secret values, masked before hashing
    note_skip: int = 0  # resume: log lines already stored after the last entry (skip as many)


# -- identity ---------------------------------------------------------------------------------

# Payload fields that travel as JSON text (flow_api._wire): kept in the args as the JSON they
# are, spliced in as sent (not decoded and encoded again: the engine identifies every call of a
# durable execution, and that costs a parse and an encode per call). Their key order is the
# flow's dict's and _wire's spacing is always the same, so a resumed flow sends the same text;
# and a call's identity is its names only (see above), so ``args_hash`` is informational and a
# text that differs in key order alone changes nothing but the hash shown.
_JSON_FIELDS = ("inputs", "value", "fields", "form")
_SPLICE = "\x00json\x00"  # stands for a JSON field's text while the rest is encoded
_SPLICED = '"\\u0000json\\u0000"'  # ... as json encodes it (the text replaces it after)

# Per op, payload keys that are not part of a call's identity: a timeout or a sleep's length may
# be computed from the clock, and must not make a resumed call "differ".
_IGNORED = {
    "wait": ("timeout",),
    "lock_acquire": ("timeout",),
    "message_wait": ("timeout",),
    "sleep": ("seconds", "until"),
    "sleep_until": ("seconds", "until"),
}

_NAMED = frozenset((
    "setting_get", "setting_exists", "setting_save", "setting_delete", "setting_list_append",
    "file_read", "file_size", "file_write", "file_exists", "file_delete",
    "flow_exists", "flow_script", "flow_save", "flow_delete", "lock_acquire", "lock_release",
))


def _own(value: Any, this_id: int | None) -> str:
    return THIS if this_id is not None and value == this_id else str(value)


def target_of(op: str, payload: dict, this_id: int | None = None) -> str:
    """The name a call acts on (see the design's table); '' when it has none."""
    if op in _NAMED:
        return str(payload.get("name", ""))
    if op == "start_flow":
        return str(payload.get("flow", ""))
    if op == "start_connector":
        return str(payload.get("connector_type", ""))
    if op == "run_child" or op == "save_execution" or op == "message_get" or op == "message_wait":
        return _own(payload.get("id"), this_id)
    if op == "wait":
        return ",".join(str(i) for i in sorted(payload.get("ids") or ()))
    if op == "control":
        return f"{_own(payload.get('id'), this_id)}:{payload.get('action')}"
    if op == "get":
        fields = payload.get("fields")
        names = ",".join(fields) if isinstance(fields, (list, tuple)) else str(fields or "")
        return f"{_own(payload.get('id'), this_id)}:{names}"
    if op == "list_records":
        return str(payload.get("kind", ""))
    if op == "message_create":
        return str(payload.get("subject", ""))
    return ""


def _canonical(op: str, payload: dict, this_id: int | None) -> tuple[dict, list[str]]:
    """The args to encode (sorted), and the JSON texts that replace their :data:`_SPLICE`
    values, in key order."""
    ignored = _IGNORED.get(op, ())
    args: dict = {}
    spliced: dict[str, str] = {}
    for key, value in payload.items():
        if key in ignored:
            continue
        if key in _JSON_FIELDS and isinstance(value, str):
            if op == "start_connector" and key == "inputs":  # decoded: its secrets are masked below
                try:
                    value = json.loads(value)
                except ValueError:
                    pass
            elif value:
                spliced[key] = value
                value = _SPLICE
        elif (key == "parent" or key == "id") and this_id is not None and value == this_id:
            value = THIS
        args[key] = value
    if op == "start_connector" and isinstance(args.get("inputs"), dict):
        from . import connectors  # only here: the worker imports this module on every run

        args["inputs"] = connectors.masked(str(args.get("connector_type")), args["inputs"])
    return args, [spliced[key] for key in sorted(spliced)]


def _json_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return {"$bytes": hashlib.blake2b(data, digest_size=16).hexdigest(), "size": len(data)}
    if isinstance(value, (set, frozenset)):
        return sorted(value, key=repr)
    return repr(value)


# One encoder each, made once (json.dumps with options makes a JSONEncoder per call).
_encode_args = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                                default=_json_default).encode


def _mask(text: str, secrets: tuple) -> str:
    from .redact import MASK, MIN_SECRET_LEN

    for secret in sorted({s for s in secrets if s and len(s) >= MIN_SECRET_LEN}, key=len, reverse=True):
        text = text.replace(secret, MASK)
        escaped = json.dumps(secret, ensure_ascii=False)[1:-1]  # as it appears inside JSON text
        if escaped != secret:
            text = text.replace(escaped, MASK)
    return text


def identify(op: str, payload: dict, this_id: int | None, secrets: tuple = ()) -> tuple[str, str, str]:
    """``(target, args_hash, args_json)`` of one flow API call, computed the same way by the
    engine (recording) and the worker (answering from a journal). ``args_json`` is canonical
    (sorted keys, JSON fields as the JSON text they were sent as, the caller's own id as
    ``"@this"``, connector secrets and known secret values masked) and uncut; cut it at
    ARGS_LIMIT to store it."""
    args, spliced = _canonical(op, payload, this_id)
    text = _encode_args(args)
    if spliced:
        head, *parts = text.split(_SPLICED)
        if len(parts) == len(spliced):
            text = head + "".join(json_text + part for json_text, part in zip(spliced, parts))
        else:  # a value of the call's own spelled the stand-in: encode those fields as strings
            text = _encode_args({k: payload[k] if v == _SPLICE else v for k, v in args.items()})
    if secrets:
        text = _mask(text, secrets)
    digest = hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()
    return target_of(op, payload, this_id), digest, text


# -- results ------------------------------------------------------------------------------------

def _encode_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$b64": base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"a flow API answer of type {type(value).__name__} cannot be journaled")


_encode_result = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_encode_default).encode


def encode_result(value: Any) -> str:
    """A call's answer (or an error's ``[class name, message]``) as journal text: JSON, bytes as
    ``{"$b64": ...}``, tuples as lists."""
    return _encode_result(value)


def _decode_hook(obj: dict) -> Any:
    if len(obj) == 1 and "$b64" in obj:
        return base64.b64decode(obj["$b64"])
    return obj


def decode_result(text: str | None) -> Any:
    if text is None:
        return None
    return json.loads(text, object_hook=_decode_hook)


# -- how a call looks in a flow -----------------------------------------------------------------

def _r(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def describe(op: str, args: Any, line: int | None = None) -> str:
    """A call as the flow wrote it, for messages: ``this.flow('Build', inputs={'env': 'prod'})
    at line 31``. ``args`` is the canonical args (a dict, or its JSON text as stored)."""
    if isinstance(args, str):
        try:
            args = json.loads(args)
        except ValueError:
            args = {}
    if not isinstance(args, dict):
        args = {}
    a = args.get
    name = _r(a("name"))
    if op == "start_flow":
        inputs = a("inputs")
        text = f"this.flow({_r(a('flow'))}" + (f", inputs={_r(inputs)})" if inputs else ")")
    elif op == "start_connector":
        inputs = a("inputs")
        text = f"this.connect({_r(a('connector_type'))}" + (f", inputs={_r(inputs)})" if inputs else ")")
    elif op == "run_child":
        text = f"execution({a('id')}).run()" if a("wait", True) else f"execution({a('id')}).run_async()"
    elif op == "wait":
        text = f"wait({', '.join(f'execution({i})' for i in a('ids') or ())})"
    elif op == "control":
        text = f"{_who(a('id'))}.{a('action')}()"
    elif op == "get":
        fields = a("fields") or ()
        text = f"{_who(a('id'))}.get({', '.join(_r(f) for f in fields)})"
    elif op == "save_execution":
        text = f"{_who(a('id'))}.save(...)"
    elif op.startswith("setting_"):
        verb = {"setting_get": "get()", "setting_exists": "exists()", "setting_save": "save(value=...)",
                "setting_delete": "delete()", "setting_list_append": "list_append(...)"}.get(op, op + "()")
        text = f"system.setting({name}).{verb}"
    elif op.startswith("file_"):
        verb = {"file_read": "get()", "file_size": "get('size')", "file_write": "save(...)",
                "file_exists": "exists()", "file_delete": "delete()"}.get(op, op + "()")
        text = f"system.file({name}).{verb}"
    elif op.startswith("flow_"):
        verb = {"flow_exists": "exists()", "flow_script": "get('script')", "flow_save": "save(...)",
                "flow_delete": "delete()"}.get(op, op + "()")
        text = f"system.flow({name}).{verb}"
    elif op == "list_records":
        text = f"system.{a('kind')}s()"
    elif op == "own_client":
        text = "system.get_own_client()"
    elif op == "lock_acquire":
        text = f"system.lock({name}).acquire()"
    elif op == "lock_release":
        text = f"system.lock({name}).release()"
    elif op == "message_create":
        text = f"this.message({_r(a('subject'))}, ...)"
    elif op == "message_get":
        text = f"system.message({a('id')}).get()"
    elif op == "message_wait":
        text = f"system.message({a('id')}).wait()"
    elif op in ("sleep", "sleep_until"):
        text = f"this.{op}(...)"
    else:
        text = f"{op}(...)"
    return text if line is None else f"{text} at line {line}"


def _who(execution_id: Any) -> str:
    return "this" if execution_id == THIS else f"execution({execution_id})"
