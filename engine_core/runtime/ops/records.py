"""Records a flow reads and writes: settings, workspace files, flows, and listings of them."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from flow_api import InvalidInputError, ResourceNotFoundError

from ...errors import FlowdeskError, UnknownFlowError
from . import Call

if TYPE_CHECKING:  # pragma: no cover
    from ..dispatcher import Dispatcher
    from . import WorkerCalls


def register(calls: "WorkerCalls", d: "Dispatcher") -> None:
    workspace = d.workspace

    # -- settings -------------------------------------------------------------------------
    def setting_get(call: Call, *, name):
        found, value = d.writer.setting_get(name)
        if not found:
            raise ResourceNotFoundError(f"there is no setting {name!r}; create it with "
                                        f"system.setting({name!r}).save(value=...) or in the IDE's Explorer")
        return value

    def setting_exists(call: Call, *, name):
        return d.writer.setting_get(name)[0]

    def setting_save(call: Call, *, name, value):
        _check_name("setting", name)
        d.writer.setting_save(name, value)

    def setting_delete(call: Call, *, name):
        d.writer.setting_delete(name)

    def setting_list_append(call: Call, *, name, value):
        # One dispatcher thread does every write, so read-modify-write here is atomic for
        # this engine; the row is rewritten in the same transaction as the read.
        _check_name("setting", name)
        found, current = d.writer.setting_get(name)
        items = json.loads(current) if found and current is not None else []
        if not isinstance(items, list):
            raise InvalidInputError(f"setting {name!r} holds a {type(items).__name__}, not a list: list_append "
                                    "needs a list (or a missing setting)")
        items.append(json.loads(value))
        d.writer.setting_save(name, json.dumps(items, separators=(",", ":"), ensure_ascii=False))

    # -- files of the workspace -----------------------------------------------------------
    def file_op(fn):
        def handler(call: Call, *, name, **payload):
            _check_name("file", name)
            try:
                return fn(name, **payload)
            except FileNotFoundError:
                raise ResourceNotFoundError(f"there is no file {name!r} in {workspace.files_dir}") from None
            except FlowdeskError as exc:
                raise InvalidInputError(str(exc)) from None
        return handler

    def file_read(name):
        return workspace.read_file(name)

    def file_size(name):
        return workspace.file_path(name).stat().st_size

    def file_write(name, *, data):
        workspace.write_file(name, data)

    def file_exists(name):
        return workspace.file_path(name).is_file()

    def file_delete(name):
        try:
            workspace.delete_file(name)
        except FileNotFoundError:
            pass

    # -- flows ----------------------------------------------------------------------------
    def flow_exists(call: Call, *, name):
        return workspace.has_flow(name)

    def flow_script(call: Call, *, name):
        try:
            return workspace.read_flow(name)[1]
        except UnknownFlowError as exc:
            raise ResourceNotFoundError(str(exc)) from None

    def flow_save(call: Call, *, name, script):
        try:
            workspace.save_flow(name, script)
        except FlowdeskError as exc:
            raise InvalidInputError(str(exc)) from None

    def flow_delete(call: Call, *, name):
        try:
            workspace.delete_flow(name)
        except UnknownFlowError as exc:
            raise ResourceNotFoundError(str(exc)) from None

    # -- listings and the workspace itself ----------------------------------------------------
    def list_records(call: Call, *, kind):
        if kind == "setting":
            return d.writer.setting_names()
        if kind == "file":
            return workspace.file_names()
        if kind == "flow":
            return workspace.flow_names()
        raise InvalidInputError(f"cannot list {kind!r}")

    def own_client(call: Call):
        return {"name": workspace.root.name, "path": str(workspace.root)}

    for op, handler in (
        ("setting_get", setting_get), ("setting_exists", setting_exists), ("setting_save", setting_save),
        ("setting_delete", setting_delete), ("setting_list_append", setting_list_append),
        ("file_read", file_op(file_read)), ("file_size", file_op(file_size)), ("file_write", file_op(file_write)),
        ("file_exists", file_op(file_exists)), ("file_delete", file_op(file_delete)),
        ("flow_exists", flow_exists), ("flow_script", flow_script), ("flow_save", flow_save),
        ("flow_delete", flow_delete), ("list_records", list_records), ("own_client", own_client),
    ):
        calls.add(op, handler)


def _check_name(kind: str, name) -> None:
    if not isinstance(name, str) or not name.strip():
        raise InvalidInputError(f"a {kind} needs a non-empty name, not {name!r}")
