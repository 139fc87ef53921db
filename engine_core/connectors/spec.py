"""What a connector declares about itself: its parameters (which are required, which are
secret), so that the engine checks a call before it starts, masks secrets wherever inputs are
stored or shown, and the editor completes and lints ``this.connect(...)`` calls."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from flow_api import ConnectorError

from .. import redact

MASK = redact.MASK


@dataclass(frozen=True)
class Param:
    name: str
    required: bool = False
    secret: bool = False  # masked in the tree, logs, CLI output and the database
    doc: str = ""
    aliases: tuple[str, ...] = ()  # other names for the same parameter (e.g. hostname for host)


@dataclass(frozen=True)
class ConnectorSpec:
    type: str
    run: Callable[[Any, dict], "dict[str, Any] | None"]
    params: tuple[Param, ...] | None = None  # None: undeclared (an old-style plugin); not checked
    doc: str = ""
    # Parameters that are required unless another one is given: (("url", "host"),) means one of them.
    one_of: tuple[tuple[str, ...], ...] = field(default=())
    # Whether a call with these parameters may be made again when an engine died while it ran
    # (resume): True only for calls that cannot have acted (a REST GET, a SQL query). None: look
    # for a ``repeatable`` attribute on ``run`` (how built-in modules and plugins declare it
    # through ``register``); neither: never repeated.
    repeatable: Callable[[dict], bool] | None = None

    def names(self) -> set[str]:
        return {n for p in self.params or () for n in (p.name, *p.aliases)}

    def secret_names(self) -> set[str]:
        return {n for p in self.params or () if p.secret for n in (p.name, *p.aliases)}

    def problems(self, given: "set[str] | list[str]") -> list[str]:
        """What is wrong with a call giving these parameter names: unknown ones, missing ones."""
        if self.params is None:
            return []
        given = set(given)
        known = self.names()
        found = [f"unknown parameter {name!r} for the {self.type} connector; it takes "
                 f"{', '.join(sorted(p.name for p in self.params))}" for name in sorted(given - known)
                 if name not in _COMMON]
        for p in self.params:
            if p.required and not ({p.name, *p.aliases} & given):
                found.append(f"the {self.type} connector needs {p.name}=...")
        for group in self.one_of:
            if not set(group) & given:
                found.append(f"the {self.type} connector needs one of {', '.join(g + '=...' for g in group)}")
        return found

    def is_repeatable(self, params: dict) -> bool:
        """May an interrupted call with ``params`` be run again? (see ``repeatable``)"""
        decide = self.repeatable or getattr(self.run, "repeatable", None)
        try:
            return bool(decide(params)) if decide is not None else False
        except Exception:  # a plugin's broken rule must not stop a resume: not repeated
            return False

    def check(self, params: dict) -> None:
        problems = self.problems(params)
        if problems:
            raise ConnectorError("; ".join(problems))

    def masked(self, params: dict) -> dict:
        """``params`` as they may be stored and shown (a copy): every secret parameter's value
        replaced by :data:`MASK` (also inside nested dicts, e.g. an ``Authorization`` header),
        credentials in URLs masked, and the secret values masked wherever else they appear."""
        names = {n.lower() for n in self.secret_names() | _ALWAYS_SECRET}
        values = self.secret_values(params)

        def walk(value: Any, key: "str | None", top: bool = False) -> Any:
            # 'key' is a secret only as a parameter: inside a body it is ordinary data.
            if key is not None and key.lower() in names and (top or key.lower() != "key") \
                    and value not in (None, ""):
                return MASK
            if isinstance(value, dict):
                return {k: walk(v, str(k)) for k, v in value.items()}
            if isinstance(value, (list, tuple)):
                return [walk(v, None) for v in value]
            return redact.mask(value, values) if isinstance(value, str) else value

        return {k: walk(v, k, True) for k, v in params.items()}

    def secret_values(self, params: dict) -> list[str]:
        """The secret values of a call (secret parameters, credentials in URLs): what must be
        masked in the connection's messages and logs too."""
        return redact.secrets_of(params, self.secret_names() | _ALWAYS_SECRET)


# Parameters every connection takes (the engine's, not the connector's).
_COMMON = frozenset({"name", "wait", "run", "inputs"})
# Masked whatever a connector declares: an undeclared plugin's password is still a password.
_ALWAYS_SECRET = frozenset({"password", "token", "api_key", "secret", "ssh_key", "key", "private_key",
                            "client_secret", "access_token", "authorization", "passphrase"})
