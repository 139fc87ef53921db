"""``system`` inside a flow: the engine's resources."""

from __future__ import annotations

from .resources import Flow, Setting


class System:
    """Access to the engine's resources from a flow."""

    def setting(self, name: str) -> Setting:
        """The setting called ``name``, whether or not it exists yet."""
        return Setting(name)

    def flow(self, name: str) -> Flow:
        """The flow called ``name`` (check ``.exists()``)."""
        return Flow(name)

    def __repr__(self) -> str:
        return "System()"
