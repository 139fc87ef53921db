"""From an HTTP request to a webhook's inputs: the key and ``async`` taken out, the body
parsed, credentials in headers masked. Pure functions, no server: what a flow receives is
decided here and tested without a socket."""

from __future__ import annotations

import json
from typing import Any, NamedTuple

from ..redact import MASK

# Headers that carry credentials; a header whose name contains one of the words too.
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "set-cookie"}
_SECRET_WORDS = ("token", "secret", "password", "api-key", "apikey", "key", "auth", "session", "signature")
_TRUE = {"1", "true", "yes", "on"}


class BadRequest(Exception):
    """The request cannot start the flow; ``str()`` is the reason sent back with ``status``."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status = status


class Call(NamedTuple):
    inputs: dict
    key: str | None
    is_async: bool


def is_json_type(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def masked_headers(headers: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in headers:
        name = name.lower()
        if name in _SECRET_HEADERS or any(word in name for word in _SECRET_WORDS):
            value = MASK
        # A repeated header keeps every value, as HTTP joins them.
        out[name] = f"{out[name]}, {value}" if name in out else value
    return out


def query_dict(items: list[tuple[str, str]]) -> dict[str, Any]:
    """``a=1&b=2&b=3`` → ``{"a": "1", "b": ["2", "3"]}``."""
    out: dict[str, Any] = {}
    for name, value in items:
        if name in out:
            out[name] = (out[name] if isinstance(out[name], list) else [out[name]]) + [value]
        else:
            out[name] = value
    return out


def parse_call(method: str, rest: str, query: list[tuple[str, str]], headers: list[tuple[str, str]],
               body: bytes) -> Call:
    """The flow's inputs (``method``, ``path``, ``query``, ``headers``, ``json`` or ``data``),
    the key given (query first, then a JSON object body's ``"key"``) and whether ``async=1``.
    Raises BadRequest(400) for a body declared JSON that is not."""
    query_items = [(k, v) for k, v in query if k not in ("key", "async")]
    query_keys = [v for k, v in query if k == "key"]
    key = query_keys[-1] if query_keys else None
    is_async = any(k == "async" and v.strip().lower() in _TRUE for k, v in query)
    content_type = next((v for k, v in headers if k.lower() == "content-type"), "")
    inputs: dict[str, Any] = {"method": method, "path": f"/{rest}" if rest else "",
                              "query": query_dict(query_items), "headers": masked_headers(headers)}
    if body:
        parsed, is_json = _parse_body(body, content_type)
        if is_json:
            if isinstance(parsed, dict) and "key" in parsed:
                body_key = parsed.pop("key")
                if key is None and isinstance(body_key, str):
                    key = body_key
            inputs["json"] = parsed
        else:
            inputs["data"] = parsed
    return Call(inputs, key, is_async)


def _parse_body(body: bytes, content_type: str) -> tuple[Any, bool]:
    declared = is_json_type(content_type)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        if declared:
            raise BadRequest(400, f"the body is declared JSON but is not UTF-8 (byte {exc.start})") from None
        return body.decode("latin-1"), False
    if declared:
        try:
            return json.loads(text), True
        except ValueError as exc:
            raise BadRequest(400, f"the body is not valid JSON: {exc}") from None
    # `curl -d '{"key": ...}'` sends JSON as a form: a body that parses as JSON counts as JSON,
    # as in Cloudomation; anything else reaches the flow as text in `data`.
    if text.lstrip()[:1] in ("{", "["):
        try:
            return json.loads(text), True
        except ValueError:
            pass
    return text, False
