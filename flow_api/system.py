"""``system`` inside a flow: the engine's records."""

from __future__ import annotations

import fnmatch
import getpass
from typing import Any

from . import _channel
from .execution import Execution
from .exceptions import InvalidInputError
from .messages import Message, create_form
from .resources import Client, File, Flow, Setting, User
from .status import ReturnWhen


class _NotGiven:
    """No value given (``None`` is a value a setting can be saved with)."""

    def __repr__(self) -> str:
        return "..."


_NOT_GIVEN = _NotGiven()


class System:
    """Access to the engine's records from a flow."""

    return_when = ReturnWhen
    """Constants for ``this.wait_for(..., return_when=...)``: ``ALL_SUCCEEDED``, ``ALL_ENDED``, ``FIRST_ENDED``."""

    def setting(self, name: str, value: Any = _NOT_GIVEN) -> Setting:
        """The setting called ``name``, whether or not it exists yet; with ``value=`` (the
        older style) it is saved first."""
        setting = Setting(name)
        if value is not _NOT_GIVEN:
            setting.save(value=value)
        return setting

    def file(self, name: str) -> File:
        """The file ``name`` of the workspace's ``files/`` folder, whether or not it exists yet."""
        return File(name)

    def flow(self, name: str) -> Flow:
        """The flow called ``name`` (check ``.exists()``)."""
        return Flow(name)

    def execution(self, execution_id: int) -> Execution:
        """The execution with id ``execution_id`` (any execution of this workspace)."""
        return Execution(int(execution_id))

    def message(self, id: int | None = None, subject: str | None = None, body: dict | None = None,
                message: str | None = None, **ignored: Any) -> Message:
        """``system.message(ID)`` loads a message; ``system.message(subject=..., body=FORM)``
        creates a form for a person and returns at once (``.wait()`` waits for the answer,
        ``.get('response')`` reads it); without ``body`` it is a plain message.
        Cloudomation's ``type=``/``message_type=`` are accepted."""
        if id is not None and subject is None and body is None:
            return Message(id)
        if subject is None:
            raise InvalidInputError("system.message needs a message id, or subject= (and body= for a form)")
        return create_form(_channel.current().execution_id, subject, body, message)

    def settings(self, filter: Any = None) -> list[Setting]:
        """All settings, optionally filtered (see :meth:`flows`)."""
        return [Setting(n) for n in _filtered(_channel.current().call("list_records", kind="setting"), filter)]

    def files(self, filter: Any = None) -> list[File]:
        """All files of the workspace's ``files/`` folder, optionally filtered (see :meth:`flows`)."""
        return [File(n) for n in _filtered(_channel.current().call("list_records", kind="file"), filter)]

    def flows(self, filter: Any = None) -> list[Flow]:
        """All flows of the workspace. ``filter`` selects by name: a glob (``'Deploy *'``), or
        ``{'field': 'name', 'op': OP, 'value': V}`` with OP one of ``eq``, ``ne``, ``like``
        (SQL: ``%`` and ``_``), ``in``, ``startswith``, ``endswith``, ``contains`` (a list of
        such dicts must all match)."""
        return [Flow(n) for n in _filtered(_channel.current().call("list_records", kind="flow"), filter)]

    def get_own_user(self) -> User:
        """The person running Flowdesk: ``get('name')`` is the local account name."""
        return User(getpass.getuser())

    def get_own_client(self) -> Client:
        """The workspace: ``get('name')`` is its folder name, ``get('path')`` its location."""
        info = _channel.current().call("own_client")
        return Client(info["name"], path=info["path"])

    def __repr__(self) -> str:
        return "System()"


def _filtered(names: list[str], filter: Any) -> list[str]:
    if filter is None:
        return names
    if isinstance(filter, str):
        return [n for n in names if fnmatch.fnmatchcase(n, filter)]
    clauses = filter if isinstance(filter, list) else [filter]
    for clause in clauses:
        if not isinstance(clause, dict) or clause.get("field", "name") != "name" or "value" not in clause:
            raise InvalidInputError(f"filter {clause!r}: use {{'field': 'name', 'op': 'eq', 'value': ...}} or a glob")
    return [n for n in names if all(_matches(n, c.get("op", "eq"), c["value"]) for c in clauses)]


def _matches(name: str, op: str, value: Any) -> bool:
    if op == "eq":
        return name == value
    if op == "ne":
        return name != value
    if op == "in":
        return name in value
    if op == "startswith":
        return name.startswith(value)
    if op == "endswith":
        return name.endswith(value)
    if op == "contains":
        return value in name
    if op == "like":
        pattern = "".join("*" if ch == "%" else "?" if ch == "_" else "[" + ch + "]" if ch in "*?[" else ch
                          for ch in str(value))
        return fnmatch.fnmatchcase(name, pattern)
    raise InvalidInputError(f"filter op {op!r} is not one of eq, ne, like, in, startswith, endswith, contains")
