"""Stored connector records (being written): a named record (type + inputs, secrets in the
system keyring) lets a flow say ``this.connect('crm-api', path='/users')``."""

from __future__ import annotations


def resolve(workspace, name_or_type: str, params: dict) -> tuple[str, dict]:
    """The connector type and the inputs of a call: a record's stored inputs overridden by the
    call's, or ``(name_or_type, params)`` when no record has that name."""
    return name_or_type, params
