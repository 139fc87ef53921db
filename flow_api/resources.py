"""Engine resources a flow can read, write and pass to other flows."""

from __future__ import annotations

from typing import Any

from . import _channel, _wire


class Setting:
    """A named setting stored by the engine. Values are JSON.

    ``system.setting(name)`` returns one whether or not it exists yet. Passed as an input to
    a child flow it stays a live ``Setting`` bound to the same stored value.
    """

    resource_kind = "setting"

    def __init__(self, name: str):
        self.name = name

    def get(self, field: str = "value") -> Any:
        """Read a field of the setting: ``'value'`` (None if the setting does not exist) or ``'name'``."""
        if field == "name":
            return self.name
        if field != "value":
            raise ValueError(f"a setting has the fields 'value' and 'name', not {field!r}")
        return _wire.decode(_channel.current().call("setting_get", name=self.name))

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

    def __repr__(self) -> str:
        return f"Setting({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Setting) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("setting", self.name))


class Flow:
    """A flow of the workspace (the file ``flows/<name>.py``)."""

    resource_kind = "flow"

    def __init__(self, name: str):
        self.name = name

    def get(self, field: str = "script") -> Any:
        """Read ``'script'`` (the source text) or ``'name'``; raises ResourceNotFoundError if there is no such flow."""
        if field == "name":
            return self.name
        if field != "script":
            raise ValueError(f"a flow has the fields 'script' and 'name', not {field!r}")
        return _channel.current().call("flow_script", name=self.name)

    def exists(self) -> bool:
        """True when the workspace has this flow."""
        return bool(_channel.current().call("flow_exists", name=self.name))

    def __repr__(self) -> str:
        return f"Flow({self.name!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Flow) and other.name == self.name

    def __hash__(self) -> int:
        return hash(("flow", self.name))
