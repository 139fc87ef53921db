"""Keeping secrets out of what is stored and shown: credentials inside URLs
(``https://alice:TOKEN@host`` → ``https://alice:********@host``) and known secret values (a
connection's password) in any text — messages, logs, tracebacks, CLI output, database rows."""

from __future__ import annotations

import re
from typing import Any, Iterable
from urllib.parse import quote, unquote

MASK = "********"

# scheme://userinfo@ — the userinfo runs up to the authority's last '@' (a raw '@' in a password
# is ambiguous; git and browsers take the last one, so do we). Quotes end it: messages quote URLs.
_URL_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.-]*://)(?P<info>[^/\s?#'\"<>]*)@")
# Schemes whose user-only userinfo is a token (https://TOKEN@github.com); for ssh/git it is a
# user name (ssh://git@host) and stays.
_TOKEN_SCHEMES = ("http://", "https://", "ftp://", "ftps://")
# Secrets shorter than this are not searched in free text: replacing every "ab" would make
# messages unreadable while hiding nothing a reader could not guess.
MIN_SECRET_LEN = 3


def mask_urls(text: str) -> str:
    """``text`` with the password (or token) part of every URL's userinfo masked."""
    if not text or "://" not in text:
        return text

    def repl(match: re.Match) -> str:
        scheme, info = match.group("scheme"), match.group("info")
        if not info or info == MASK:
            return match.group(0)
        user, sep, password = info.partition(":")
        if sep:
            return f"{scheme}{user}:{MASK}@" if password and password != MASK else match.group(0)
        if scheme.lower() in _TOKEN_SCHEMES:
            return f"{scheme}{MASK}@"
        return match.group(0)

    return _URL_USERINFO.sub(repl, text)


def url_secrets(text: str) -> list[str]:
    """The passwords and tokens inside the URLs of ``text`` (decoded and as written)."""
    found: list[str] = []
    for match in _URL_USERINFO.finditer(text or ""):
        scheme, info = match.group("scheme"), match.group("info")
        user, sep, password = info.partition(":")
        secret = password if sep else (user if scheme.lower() in _TOKEN_SCHEMES else "")
        if secret and secret != MASK:
            found.extend({secret, unquote(secret)})
    return found


def mask_values(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of each secret (and of its URL-encoded form) masked."""
    if not text:
        return text
    forms = {form for s in secrets if s and len(s) >= MIN_SECRET_LEN for form in (s, quote(s, safe=""))}
    for form in sorted(forms, key=len, reverse=True):  # longest first: one secret may contain another
        text = text.replace(form, MASK)
    return text


def mask(text: str | None, secrets: Iterable[str] = ()) -> str | None:
    """Both: known secret values, then credentials in URLs."""
    if text is None:
        return None
    return mask_urls(mask_values(text, secrets))


def mask_deep(value: Any, secrets: Iterable[str] = ()) -> Any:
    """``mask`` applied to every string inside a JSON-like value (a copy)."""
    secrets = tuple(secrets)
    if isinstance(value, str):
        return mask(value, secrets)
    if isinstance(value, dict):
        return {k: mask_deep(v, secrets) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [mask_deep(v, secrets) for v in value]
    return value


def secrets_of(params: dict, secret_names: Iterable[str]) -> list[str]:
    """The secret values in a connection's parameters: those of secret parameters, and the
    credentials inside any URL among them (nested values included)."""
    names = {n.lower() for n in secret_names}
    found: list[str] = []

    def walk(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and value:
            if key is not None and key.lower() in names:
                found.append(value)
                found.extend(line.strip() for line in value.splitlines() if len(line.strip()) >= 16)
            found.extend(url_secrets(value))

    walk(params, None)
    return sorted(set(found), key=len, reverse=True)
