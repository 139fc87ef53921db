"""Secret settings live in the system keyring (the ``keyring`` library), never in the
repository: a secret's settings file holds only a reference saying where to find it."""

from __future__ import annotations

import json

from .gitcmd import GitError

SERVICE = "flowdesk"
REFERENCE_KEY = "$flowdesk_secret"


class SecretError(GitError):
    """The keyring is missing or refused."""


def reference_text(key: str) -> str:
    """The committed stand-in for a secret: where the value is, not what it is."""
    return json.dumps({REFERENCE_KEY: {"keyring_service": SERVICE, "key": key}}, indent=2, sort_keys=True) + "\n"


def reference_key(text: str | None) -> str | None:
    """The keyring key if ``text`` is a secret reference, else None."""
    if not text or REFERENCE_KEY not in text:
        return None
    try:
        data = json.loads(text)
    except ValueError:
        return None
    if isinstance(data, dict) and set(data) == {REFERENCE_KEY} and isinstance(data[REFERENCE_KEY], dict):
        key = data[REFERENCE_KEY].get("key")
        return key if isinstance(key, str) else None
    return None


def get(key: str) -> str | None:
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(SERVICE, key)
    except KeyringError as exc:
        raise SecretError(_no_keyring(exc)) from None


def put(key: str, value_text: str) -> None:
    import keyring
    from keyring.errors import KeyringError

    try:
        keyring.set_password(SERVICE, key, value_text)
    except KeyringError as exc:
        raise SecretError(_no_keyring(exc)) from None


def _no_keyring(exc: Exception) -> str:
    return (f"the system keyring is not available ({exc}); secret settings need one — on Linux a Secret "
            f"Service such as GNOME Keyring or KWallet, or a keyring backend configured for the "
            f"'keyring' library (see 'keyring --list-backends')")
