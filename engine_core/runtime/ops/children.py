"""Child executions and execution records: ``this.flow``/``connect``/``task``, ``run``,
``wait``/``wait_for``, ``cancel``/``pause``/``resume``, ``get``, ``this.save``."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING

from flow_api import ConnectorError, EngineException, InvalidInputError, ResourceNotFoundError

from ... import connectors
from ...connectors import records
from ... import events as ev
from ...errors import UnknownFlowError
from .. import control
from ..active import Active
from ..waits import Parked, Waiter
from . import DEFER, Call

if TYPE_CHECKING:  # pragma: no cover
    from ..dispatcher import Dispatcher
    from . import WorkerCalls

_GET_FIELDS = {"output_value", "input_value", "status", "name", "message", "flow", "id", "parent_id",
               "created_at", "started_at", "ended_at"}
_WAIT_MODES = ("all", "first", "all_succeeded")


def register(calls: "WorkerCalls", d: "Dispatcher") -> None:
    def parent_for(call: Call, parent_id: int) -> Active:
        # ``child.flow(...)`` on an Execution other than ``this`` starts a child of that one.
        return d.active.get(parent_id, call.caller)

    def start_child(call: Call, parent: Active, *, flow, name, kind, inputs, run, wait, path, source,
                    run_inputs=None, secrets=()):
        if parent.depth + 1 > d.options.max_depth:
            raise EngineException(
                f"child executions nest deeper than {d.options.max_depth} levels "
                f"(starting {flow!r} from {parent.label}); is a flow calling itself without end?"
            )
        inline = parent.mode == "development" and run
        child = d.create(flow=flow, name=name, kind=kind, inputs=inputs, mode=parent.mode,
                         parent=parent, path=path, source=source, inline=inline, start=run,
                         run_inputs=run_inputs, secrets=secrets)
        if inline:
            return run_inline(child)
        if not wait:
            return child.summary()
        return wait_for_child(call, child.id)

    def wait_for_child(call: Call, child_id: int):
        d.journal.ref(call, child=child_id)
        d.waits.add(Waiter(worker=call.worker, request_id=call.request_id, ids=[child_id], single=True))
        return DEFER

    def run_inline(child: Active) -> dict:
        # Debugging: the parent's worker runs the child itself (even with wait=False), so one
        # debug session covers the whole tree. It reports the child's end with "done".
        d.set_status(child, "running")
        return {"inline": {"id": child.id, "kind": child.kind, "target": child.flow, "path": child.path,
                           "source": child.source, "inputs": child.worker_inputs, "label": child.label}}

    def start_flow(call: Call, *, parent, flow, name, inputs, wait, run=True):
        try:
            path, source = d.workspace.read_flow(flow)
        except UnknownFlowError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        return start_child(call, parent_for(call, parent), flow=flow, name=name, kind="flow", inputs=inputs,
                           run=run, wait=wait, path=str(path), source=source)

    def start_connector(call: Call, *, parent, connector_type, name, inputs, wait, run=True):
        # A stored connector record (by name) gives the type and the inputs the call overrides.
        params = json.loads(inputs) if inputs else {}
        asked = str(connector_type)
        connector_type, params = records.resolve(d.workspace, asked, params)
        if str(connector_type).upper() != asked.upper():
            name = name or asked  # a record: the child is named after it
        spec = connectors.spec(connector_type)  # raises ConnectorError naming the known types
        problems = spec.problems(params)
        if problems:  # refused before anything starts: no execution, the caller gets the error
            takes = ", ".join(sorted(p.name for p in spec.params or ())) or "no parameters"
            raise ConnectorError(f"this.connect({spec.type!r}) cannot start: {'; '.join(problems)} "
                                 f"(the {spec.type} connector takes {takes})")
        # The real inputs go to the worker in memory; the database, the events and every view
        # get them with secrets masked.
        shown = connectors.masked(spec.type, params)
        secrets = tuple(connectors.secret_values(spec.type, params))
        if secrets:  # the caller knows them too: masked in its journal, logs and stored code
            call.caller.secrets = tuple(dict.fromkeys(call.caller.secrets + secrets))
        return start_child(call, parent_for(call, parent), flow=spec.type, name=name, kind="connection",
                           inputs=_json(shown), run=run, wait=wait, path=None, source=None,
                           run_inputs=_json(params), secrets=secrets)

    def run_child(call: Call, *, id, wait):
        child = d.active.get(id)
        if child is None or not child.held:
            # Already started (or ended): Cloudomation's library calls run() on children that
            # ran already; it means "wait for it".
            if not _exists(d, id):
                _missing(id)
            if child is not None and child.paused_by_signal:
                control.resume_tree(d, child)  # Cloudomation: run_async() on a paused child resumes it
            if not wait:
                return d.summary(id)
            return wait_for_child(call, id)
        if child.mode == "development":
            child.held = False
            child.inline = True
            return run_inline(child)
        d.enqueue(child)
        if not wait:
            return child.summary()
        return wait_for_child(call, id)

    def wait(call: Call, *, ids, timeout, mode="all"):
        if mode not in _WAIT_MODES:
            raise InvalidInputError(f"unknown wait mode {mode!r}")
        for i in ids:
            try:
                d.summary(i)
            except LookupError:
                raise ResourceNotFoundError(f"there is no execution #{i}") from None
        return wait_until(call, list(ids), None if timeout is None else time.time() + float(timeout), mode)

    def wait_until(call: Call, ids: list, until: float | None, mode: str):
        # The deadline is wall-clock in the journal: a resumed wait gets only the time left.
        d.journal.ref(call, ids=ids, deadline=until)
        deadline = None if until is None else time.monotonic() + (until - time.time())
        d.waits.add(Waiter(worker=call.worker, request_id=call.request_id, ids=ids, single=False,
                           deadline=deadline, mode=mode))
        return DEFER

    def rewait(call: Call, ref: dict, *, ids, timeout=None, mode="all"):
        return wait_until(call, list(ref.get("ids") or ids), ref.get("deadline"), mode)

    def rewait_child(call: Call, ref: dict, **payload):
        return wait_for_child(call, int(ref["child"]))

    def control_op(call: Call, *, id, action):
        target = d.active.get(id)
        if target is None:
            if not _exists(d, id):
                _missing(id)
            return None  # it has ended already: nothing to cancel, pause or resume
        if target is call.caller and action == "pause":
            # this.pause(): park the request until someone resumes the execution.
            target.self_pause = Parked(call.worker, call.request_id)
            target.self_pause.park()
            d.journal.ref(call, pause=1)
            d.set_status(target, "paused", "paused: waiting to be resumed (IDE, or 'flowdesk resume ID')")
            return DEFER
        if target is call.caller and action == "cancel":
            raise InvalidInputError("a flow cannot cancel itself with cancel(); use this.end('cancelled')")
        control.apply(d, target, action)
        return None

    def get(call: Call, *, id, fields):
        unknown = set(fields) - _GET_FIELDS
        if unknown:
            raise InvalidInputError(f"unknown execution field(s): {', '.join(sorted(unknown))}")
        active = d.active.get(id)
        stored = d.writer.execution_fields(id)
        if stored is None:
            raise ResourceNotFoundError(f"there is no execution #{id}")
        row = {"output_value": stored["outputs"], "input_value": stored["inputs"], "status": stored["status"],
               "name": stored["name"], "message": stored["message"], "flow": stored["flow"], "id": stored["id"],
               "parent_id": stored["parent_id"], "created_at": stored["created_at"],
               "started_at": stored["started_at"], "ended_at": stored["ended_at"]}
        if active is not None:  # fresher than the row for what is still running
            row.update(output_value=json.dumps(active.outputs), status=active.status, name=active.name)
        values = {field: row[field] for field in fields}
        if active is not None and active.held:
            values["held"] = True  # not run yet: see Execution.get
        return values

    def save_execution(call: Call, *, id, fields):
        target = d.active.get(id)
        if target is None:
            raise InvalidInputError(f"execution #{id} is not running: only a running execution can be saved")
        values = json.loads(fields)
        if "output_value" in values:
            target.outputs = dict(values["output_value"])
            d.writer.set_outputs(id, json.dumps(target.outputs, separators=(",", ":")))
            d.emit(ev.OutputChanged(id, dict(target.outputs)))
        if "name" in values:
            target.name = str(values["name"])
        if "message" in values or "name" in values:
            d.writer.save_execution(id, name=values.get("name"), message=values.get("message"))
            d.emit(ev.ExecutionSaved(id, target.name, values.get("message"), time.time()))
        return None

    for op, handler in (("start_flow", start_flow), ("start_connector", start_connector), ("run_child", run_child),
                        ("wait", wait), ("control", control_op), ("get", get), ("save_execution", save_execution)):
        calls.add(op, handler)
    for op in ("start_flow", "start_connector", "run_child"):
        d.journal.reattacher(op, rewait_child)
    d.journal.reattacher("wait", rewait)


def _json(value: dict) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)  # as flow_api's _wire writes


def _exists(d: "Dispatcher", execution_id: int) -> bool:
    try:
        d.summary(execution_id)
        return True
    except LookupError:
        return False


def _missing(execution_id: int) -> None:
    raise ResourceNotFoundError(f"there is no execution #{execution_id}")
