"""Messages and forms: ``this.message(subject, body=FORM)``, ``system.message(...)``."""

from __future__ import annotations

from typing import Any

from . import _channel, _wire
from .exceptions import InvalidInputError, MessageResponseTimeoutError

_FIELDS = ("id", "subject", "message", "body", "form", "response", "status", "execution_id", "created_at",
           "answered_at")


class Message:
    """A message to a person; with a form, the person's answer is ``get('response')``.

    ``status``: ``'open'`` (waiting for an answer), ``'answered'``, ``'cancelled'`` (its
    execution ended first) or ``None`` for a message without a form."""

    resource_kind = "message"

    def __init__(self, message_id: int):
        self.id = int(message_id)

    def get(self, *fields: str) -> Any:
        """Read fields: ``'id'``, ``'subject'``, ``'message'``, ``'body'``/``'form'`` (the form),
        ``'response'`` (the answer, a dict; None while open), ``'status'``, ``'execution_id'``,
        ``'created_at'``, ``'answered_at'``. One field returns its value, several a dict."""
        if not fields:
            fields = ("response",)
        for field in fields:
            if field not in _FIELDS:
                raise InvalidInputError(f"unknown message field {field!r}; known fields: {', '.join(_FIELDS)}")
        record = _channel.current().call("message_get", id=self.id)
        values = {field: _field(record, field) for field in fields}
        return values[fields[0]] if len(fields) == 1 else values

    def load(self, *fields: str) -> Any:
        """The same as :meth:`get`."""
        return self.get(*fields)

    def wait(self, timeout: float | None = None) -> "Message":
        """Wait until the form is answered (the calling execution shows as paused meanwhile);
        :class:`MessageResponseTimeoutError` when ``timeout`` seconds pass first."""
        record = _channel.current().call("message_wait", id=self.id, timeout=timeout)
        if record["state"] == "open":
            raise MessageResponseTimeoutError(f"message #{self.id} ({record['subject']!r}) was not answered "
                                              f"within {timeout} s")
        return self

    def __repr__(self) -> str:
        return f"Message({self.id})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Message) and other.id == self.id

    def __hash__(self) -> int:
        return hash(("message", self.id))


def _field(record: dict, field: str) -> Any:
    if field in ("body", "form"):
        return record["form"]
    if field == "status":
        return record["state"]
    if field == "created_at":
        return record["at"]
    if field == "response":
        return _wire.decode(record["response"]) if isinstance(record["response"], str) else record["response"]
    return record[field]


def create_form(execution_id: int, subject: Any, form: dict | None, text: str | None = None) -> Message:
    """Store a message of ``execution_id`` (a form when ``form`` is given) and return it
    without waiting."""
    if form is not None and not isinstance(form, dict):
        raise InvalidInputError(f"a form body must be a dict, not {type(form).__name__}")
    encoded = None if form is None else _wire.encode(form, "message body")
    message_id = _channel.current().call("message_create", id=execution_id, subject=str(subject),
                                         message="" if text is None else str(text), form=encoded)
    return Message(message_id)
