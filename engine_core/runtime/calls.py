"""What the flow API asks of the engine: each worker request, handled on the dispatcher thread."""

from __future__ import annotations

import json
import time
from typing import TYPE_CHECKING, Any

from flow_api import FlowApiError, ResourceNotFoundError

from .. import connectors
from .. import events as ev
from ..errors import UnknownFlowError
from .active import Active, Waiter
from .pool import Worker

if TYPE_CHECKING:
    from .dispatcher import Dispatcher

DEFER = object()  # a request whose reply is sent later, when the executions it waits for end
_GET_FIELDS = {"output_value", "input_value", "status", "name", "message", "flow"}


class WorkerCalls:
    def __init__(self, dispatcher: "Dispatcher"):
        self._d = dispatcher

    # -- fire-and-forget notes ------------------------------------------------------------
    def note(self, execution_id: int, op: str, payload: dict) -> None:
        d = self._d
        active = d.active.get(execution_id)
        if active is None:
            return  # a note from an execution that was cancelled meanwhile
        now = time.time()
        if op == "log":
            d.writer.append_log(execution_id, now, payload["level"], payload["text"], payload["fields"])
            fields = json.loads(payload["fields"]) if payload["fields"] else None
            d._events.append(ev.LogAppended(execution_id, payload["level"], payload["text"], fields, now))
        elif op == "message":
            d.writer.append_message(execution_id, now, payload["subject"], payload["message"])
            d._events.append(ev.MessageAdded(execution_id, payload["subject"], payload["message"], now))
        elif op == "debug_listening":
            d.note_debug_listening(active, payload["host"], payload["port"])
        elif op == "set_output":
            active.outputs.update(json.loads(payload["outputs"]))
            d.writer.set_outputs(execution_id, json.dumps(active.outputs, separators=(",", ":")))
            d._events.append(ev.OutputChanged(execution_id, dict(active.outputs)))

    # -- requests -------------------------------------------------------------------------
    def call(self, worker: Worker, request_id: int, execution_id: int, op: str, payload: dict) -> Any:
        handler = getattr(self, f"_op_{op}", None)
        if handler is None:
            raise FlowApiError(f"unknown flow API request {op!r}")
        return handler(worker, request_id, execution_id, **payload)

    def _caller(self, execution_id: int) -> Active:
        active = self._d.active.get(execution_id)
        if active is None:
            raise FlowApiError(f"execution #{execution_id} is no longer running")
        return active

    def _parent_for(self, caller: Active, parent_id: int) -> Active:
        # ``child.flow(...)`` on an Execution other than ``this`` starts a child of that one.
        return self._d.active.get(parent_id, caller)

    def _start_child(self, worker, request_id, parent: Active, *, flow, name, kind, inputs, wait, path, source):
        d = self._d
        if parent.depth + 1 > d.options.max_depth:
            raise FlowApiError(
                f"child executions nest deeper than {d.options.max_depth} levels "
                f"(starting {flow!r} from {parent.label}); is a flow calling itself without end?"
            )
        inline = parent.mode == "development"
        child = d.create(flow=flow, name=name, kind=kind, inputs=inputs, mode=parent.mode,
                         parent=parent, path=path, source=source, inline=inline)
        if inline:
            # Debugging: the parent's worker runs the child itself (even with wait=False), so
            # one debug session covers the whole tree. It reports the child's end with "done".
            d.mark_running(child)
            return {"inline": {"id": child.id, "kind": kind, "target": flow, "path": path, "source": source,
                               "inputs": inputs, "label": child.label}}
        if not wait:
            return child.summary()
        d.add_waiter(Waiter(worker=worker, request_id=request_id, ids=[child.id], single=True))
        return DEFER

    def _op_start_flow(self, worker, request_id, execution_id, *, parent, flow, name, inputs, wait):
        caller = self._caller(execution_id)
        try:
            path, source = self._d.workspace.read_flow(flow)
        except UnknownFlowError as exc:
            raise ResourceNotFoundError(str(exc)) from None
        return self._start_child(worker, request_id, self._parent_for(caller, parent), flow=flow, name=name,
                                 kind="flow", inputs=inputs, wait=wait, path=str(path), source=source)

    def _op_start_connector(self, worker, request_id, execution_id, *, parent, connector_type, name, inputs, wait):
        caller = self._caller(execution_id)
        connectors.get(connector_type)  # raises ConnectorError naming the known types
        return self._start_child(worker, request_id, self._parent_for(caller, parent), flow=str(connector_type),
                                 name=name, kind="connection", inputs=inputs, wait=wait, path=None, source=None)

    def _op_wait(self, worker, request_id, execution_id, *, ids, timeout):
        d = self._d
        for i in ids:
            try:
                d.summary(i)
            except LookupError:
                raise ResourceNotFoundError(f"there is no execution #{i}") from None
        deadline = None if timeout is None else time.monotonic() + float(timeout)
        d.add_waiter(Waiter(worker=worker, request_id=request_id, ids=list(ids), single=False, deadline=deadline))
        return DEFER

    def _op_get(self, worker, request_id, execution_id, *, id, fields):
        d = self._d
        unknown = set(fields) - _GET_FIELDS
        if unknown:
            raise FlowApiError(f"unknown execution field(s): {', '.join(sorted(unknown))}")
        active = d.active.get(id)
        if active is not None:
            row = {"output_value": json.dumps(active.outputs), "input_value": active.inputs,
                   "status": active.status, "name": active.name, "message": None, "flow": active.flow}
        else:
            stored = d.writer.execution_fields(id)
            if stored is None:
                raise ResourceNotFoundError(f"there is no execution #{id}")
            row = {"output_value": stored["outputs"], "input_value": stored["inputs"], "status": stored["status"],
                   "name": stored["name"], "message": stored["message"], "flow": stored["flow"]}
        return {field: row[field] for field in fields}

    def _op_setting_get(self, worker, request_id, execution_id, *, name):
        return self._d.writer.setting_get(name)[1]

    def _op_setting_exists(self, worker, request_id, execution_id, *, name):
        return self._d.writer.setting_get(name)[0]

    def _op_setting_save(self, worker, request_id, execution_id, *, name, value):
        if not isinstance(name, str) or not name:
            raise FlowApiError(f"a setting needs a non-empty name, not {name!r}")
        self._d.writer.setting_save(name, value)
        return None

    def _op_setting_delete(self, worker, request_id, execution_id, *, name):
        self._d.writer.setting_delete(name)
        return None

    def _op_flow_exists(self, worker, request_id, execution_id, *, name):
        return self._d.workspace.has_flow(name)

    def _op_flow_script(self, worker, request_id, execution_id, *, name):
        try:
            return self._d.workspace.read_flow(name)[1]
        except UnknownFlowError as exc:
            raise ResourceNotFoundError(str(exc)) from None

