"""Engine records a flow can read, write and pass to other flows: settings, files, flows, and
the local user and workspace (client)."""

from __future__ import annotations

import base64
from typing import Any

from . import _channel, _wire
from .exceptions import InvalidInputError


def _check_field(kind: str, field: str, known: tuple[str, ...]) -> None:
    if field not in known:
        raise InvalidInputError(f"a {kind} has the fields {', '.join(map(repr, known))}, not {field!r}")


class Setting:
    """A named setting stored by the engine. Values are JSON.

    ``system.setting(name)`` returns one whether or not it exists yet; reading the value of a
    missing one raises :class:`ResourceNotFoundError`. Passed as an input to a child flow it
    stays a live ``Setting`` bound to the same stored value.
    """

    resource_kind = "setting"

    def __init__(self, name: str):
        self.name = name

    def get(self, field: str = "value") -> Any:
        """Read ``'value'`` (:class:`ResourceNotFoundError` if the setting does not exist) or ``'name'``."""
        _check_field("setting", field, ("value", "name"))
        if field == "name":
            return self.name
        return _wire.decode(_channel.current().call("setting_get", name=self.name))

    def load(self, field: str = "value") -> Any:
        """The same as :meth:`get`."""
        return self.get(field)

    def save(self, value: Any = None) -> "Setting":
        """Create the setting or overwrite its value."""
        encoded = _wire.encode(value, f"value of setting {self.name!r}")
        _channel.current().call("setting_save", name=self.name, value=encoded)
        return self

    def exists(self) -> bool:
        """True when the setting is stored."""
        return bool(_channel.current().call("setting_exists", name=self.name))

    def delete(self) -> None:
        """Remove the setting; deleting one that does not exist is not an error."""
        _channel.current().call("setting_delete", name=self.name)

    def list_append(self, value: Any) -> "Setting":
        """Append ``value`` to the setting's list in one step (no other execution can append
        in between); a missing setting becomes ``[value]``."""
        encoded = _wire.encode(value, f"value appended to setting {self.name!r}")
        _channel.current().call("setting_list_append", name=self.name, value=encoded)
        return self

    def acquire(self, timeout: float | None = None) -> "Setting":
        """Take the lock named after this setting; waits while another execution holds it.
        Held across executions and processes until :meth:`release` or the holder ends (in
        any way: success, error, crash, cancel). :class:`LockTimeoutError` when ``timeout``
        seconds pass first."""
        _channel.current().call("lock_acquire", name=self.name, timeout=timeout)
        return self

    def release(self) -> "Setting":
        """Give the lock back; :class:`PermissionDenied` if this execution does not hold it."""
        _channel.current().call("lock_release", name=self.name)
        return self

    def __repr__(self) -> str:
        return f"Setting({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Setting) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("setting", self.name))


class File:
    """A file of the workspace's ``files/`` folder (synced by Git like the flows)."""

    resource_kind = "file"

    def __init__(self, name: str):
        self.name = name

    def get(self, field: str = "content", convert_binary: bool = False) -> Any:
        """Read ``'content'`` (text; a file that is not UTF-8 comes as base64 text, or as
        ``bytes`` with ``convert_binary=True``; :class:`ResourceNotFoundError` if missing),
        ``'name'`` or ``'size'``."""
        _check_field("file", field, ("content", "name", "size"))
        if field == "name":
            return self.name
        if field == "size":
            return _channel.current().call("file_size", name=self.name)
        data = _channel.current().call("file_read", name=self.name)
        try:
            return data.decode("utf-8") if not convert_binary else data
        except UnicodeDecodeError:
            return base64.b64encode(data).decode("ascii")

    def load(self, field: str = "content", convert_binary: bool = False) -> Any:
        """The same as :meth:`get`."""
        return self.get(field, convert_binary)

    def save(self, content: str | bytes = "", convert_binary: bool = False) -> "File":
        """Create or overwrite the file. ``content`` is text (stored as UTF-8) or ``bytes``;
        with ``convert_binary=True`` a text ``content`` is base64 and is stored decoded."""
        if isinstance(content, str):
            if convert_binary:
                try:
                    data = base64.b64decode(content, validate=True)
                except ValueError:
                    raise InvalidInputError(f"file {self.name!r}: content is not base64 (convert_binary=True)") from None
            else:
                data = content.encode("utf-8")
        elif isinstance(content, (bytes, bytearray)):
            data = bytes(content)
        else:
            raise InvalidInputError(f"file {self.name!r}: content must be text or bytes, not {type(content).__name__}")
        _channel.current().call("file_write", name=self.name, data=data)
        return self

    def exists(self) -> bool:
        """True when the file is in the workspace."""
        return bool(_channel.current().call("file_exists", name=self.name))

    def delete(self) -> None:
        """Remove the file; deleting one that does not exist is not an error."""
        _channel.current().call("file_delete", name=self.name)

    def __repr__(self) -> str:
        return f"File({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, File) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("file", self.name))


class Flow:
    """A flow of the workspace (the file ``flows/<name>.py``)."""

    resource_kind = "flow"

    def __init__(self, name: str):
        self.name = name

    def get(self, field: str = "script") -> Any:
        """Read ``'script'`` (the source text; :class:`ResourceNotFoundError` if there is no
        such flow) or ``'name'``."""
        _check_field("flow", field, ("script", "name"))
        if field == "name":
            return self.name
        return _channel.current().call("flow_script", name=self.name)

    def load(self, field: str = "script") -> Any:
        """The same as :meth:`get`."""
        return self.get(field)

    def save(self, script: str) -> "Flow":
        """Create the flow or replace its script; the next run of it uses the new script."""
        if not isinstance(script, str):
            raise InvalidInputError(f"the script of flow {self.name!r} must be text")
        _channel.current().call("flow_save", name=self.name, script=script)
        return self

    def exists(self) -> bool:
        """True when the workspace has this flow."""
        return bool(_channel.current().call("flow_exists", name=self.name))

    def delete(self) -> None:
        """Remove the flow's file."""
        _channel.current().call("flow_delete", name=self.name)

    def __repr__(self) -> str:
        return f"Flow({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Flow) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("flow", self.name))


class _Named:
    """A read-only record with a name (the local user, the workspace)."""

    resource_kind = "named"

    def __init__(self, name: str, **fields: Any):
        self._fields = {"name": name, **fields}

    @property
    def name(self) -> str:
        return self._fields["name"]

    def get(self, *fields: str) -> Any:
        """Read fields; ``'name'`` at least."""
        fields = fields or ("name",)
        for field in fields:
            _check_field(type(self).__name__.lower(), field, tuple(self._fields))
        return self._fields[fields[0]] if len(fields) == 1 else {f: self._fields[f] for f in fields}

    def load(self, *fields: str) -> Any:
        return self.get(*fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


class User(_Named):
    """The person running Flowdesk (the local account): ``get('name')``."""


class Client(_Named):
    """The workspace the flow runs in: ``get('name')`` (its folder name), ``get('path')``."""
