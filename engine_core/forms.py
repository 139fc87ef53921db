"""Forms a flow asks a person to fill in: ``this.message(subject, body=FORM)``.

FORM is Cloudomation's JSON-schema-like object::

    {'type': 'object',
     'properties': {KEY: {'label', 'element', 'type', 'default', 'example', 'description', 'order'}},
     'required': [KEY, ...]}

``parse_form`` checks a form when a flow creates it (so the author learns of a mistake in
their flow, not the person answering it) and gives the fields in display order.
``validate_response`` turns what a person (the IDE's widgets, or ``flowdesk respond`` with
hand-written JSON) answered into the dict the flow receives. Pure Python: the engine, the
CLI and the IDE all call it."""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Any

from .errors import UsageError

__all__ = ["FormField", "FormErrors", "ELEMENTS", "parse_form", "validate_response"]

# 'password' is not in the reference's list but Cloudomation's public flows use it: a string
# shown masked. Refusing it would break flows copied from there.
ELEMENTS = ("string", "password", "number", "toggle", "checkbox", "time", "date", "select", "markdown", "submit")
# Elements whose key is not a value the person types: never required, no default.
VALUELESS = ("markdown", "submit")
# A property without 'element' is shown by its JSON-schema type, as Cloudomation does.
_BY_TYPE = {"string": "string", "number": "number", "integer": "number", "boolean": "checkbox"}
_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


@dataclass(frozen=True)
class FormField:
    """One property of a form. ``options`` are ``(value, label)`` pairs of a select;
    ``default`` is already converted to the field's type (None: no default)."""

    key: str
    label: str
    element: str
    type: str | None = None
    default: Any = None
    options: tuple[tuple[Any, str], ...] = ()
    description: str | None = None
    example: Any = None
    order: float | None = None
    required: bool = False

    @property
    def text(self) -> str:
        """What a markdown element shows: Cloudomation's flows put it in 'description',
        'label' or 'example'."""
        for value in (self.description, None if self.label == self.key else self.label, self.example):
            if value not in (None, ""):
                return str(value)
        return ""

    @property
    def has_value(self) -> bool:
        return self.element not in VALUELESS

    @property
    def title(self) -> str:
        """How messages name the field: its label, and the key the flow reads when that differs."""
        return repr(self.key) if self.label == self.key else f"{self.label!r} ({self.key})"


class FormErrors(UsageError):
    """Everything wrong with one response, per field (``errors[key]``, ``''`` for the form as a
    whole) so a form widget can show each next to its field; ``str()`` lists them all."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(self.errors.values()))


# -- the form -----------------------------------------------------------------------------------
def parse_form(form: Any) -> list[FormField]:
    """The fields of ``form`` ordered by 'order' (fields without one last), then key.
    Raises ``UsageError`` saying what is wrong and how to fix it."""
    if not isinstance(form, dict):
        raise UsageError(f"a form must be a dict with 'properties', not {type(form).__name__}")
    if form.get("type", "object") != "object":
        raise UsageError(f"a form's 'type' must be 'object', not {form.get('type')!r}")
    properties = form.get("properties")
    if not isinstance(properties, dict):
        raise UsageError("a form needs 'properties': a dict of field key -> {'label', 'element', ...}")
    required = form.get("required", [])
    if not isinstance(required, (list, tuple)) or not all(isinstance(k, str) for k in required):
        raise UsageError("a form's 'required' must be a list of field keys")
    unknown = [k for k in required if k not in properties]
    if unknown:
        verb = "is" if len(unknown) == 1 else "are"
        raise UsageError(f"the form's 'required' names {', '.join(map(repr, unknown))}, which {verb} not "
                         "in 'properties'; add the field or remove the name")
    fields = [_parse_field(key, spec, key in required) for key, spec in properties.items()]
    return sorted(fields, key=lambda f: (f.order is None, f.order or 0.0, f.key))


def _parse_field(key: Any, spec: Any, listed_required: bool) -> FormField:
    if not isinstance(key, str) or not key:
        raise UsageError(f"form field keys must be non-empty strings, not {key!r}")
    if not isinstance(spec, dict):
        raise UsageError(f"form field {key!r} must be a dict like {{'element': 'string', 'label': ...}}, "
                         f"not {type(spec).__name__}")
    element = spec.get("element") or _BY_TYPE.get(spec.get("type"))
    if element is None:
        raise UsageError(f"form field {key!r} has no 'element'; use one of {', '.join(ELEMENTS)}")
    if element not in ELEMENTS:
        raise UsageError(f"form field {key!r} has the unknown element {element!r}; use one of {', '.join(ELEMENTS)}")
    # Some of Cloudomation's flows put 'required': [] inside a property; only True counts.
    required = (listed_required or spec.get("required") is True) and element not in VALUELESS
    label = spec.get("label")
    field = FormField(
        key=key, label=str(label) if label not in (None, "") else key, element=element, type=spec.get("type"),
        options=_parse_options(key, element, spec), description=spec.get("description"),
        example=spec.get("example"), order=_parse_order(key, spec.get("order")), required=required)
    default = spec.get("default")
    if default is not None and field.has_value:
        try:
            default = _convert(field, default)
        except ValueError as exc:
            raise UsageError(f"form field {key!r} has a default that does not fit: {exc}") from None
        object.__setattr__(field, "default", default)  # frozen: set once, while it is being built
    return field


def _parse_order(key: str, order: Any) -> float | None:
    if order is None:
        return None
    try:
        if isinstance(order, bool):
            raise ValueError
        value = float(order)
    except (TypeError, ValueError):
        raise UsageError(f"form field {key!r} has 'order' {order!r}; give a number") from None
    return value


def _parse_options(key: str, element: str, spec: dict) -> tuple[tuple[Any, str], ...]:
    if element != "select":
        return ()
    raw = spec.get("options", spec.get("enum"))
    if not isinstance(raw, (list, tuple)) or not raw:
        raise UsageError(f"form field {key!r} is a select without options; give 'options': ['a', 'b', ...]")
    options = []
    for option in raw:
        if isinstance(option, dict):
            if "value" not in option:
                raise UsageError(f"form field {key!r} has the option {option!r} without a 'value'")
            value, label = option["value"], option.get("label", option["value"])
        else:
            value, label = option, option
        options.append((value, str(label)))
    return tuple(options)


# -- a response ---------------------------------------------------------------------------------
def answer_for(message_id: int, record: dict, response: Any) -> dict:
    """The validated answer to the stored message ``record`` (``Store.message``), or
    UsageError when it is no form or no longer open. Engine.respond and ``flowdesk respond``
    (another process) both answer through this."""
    if record["form"] is None:
        raise UsageError(f"message #{message_id} ({record['subject']!r}) is not a form; there is nothing to answer")
    if record["state"] != "open":
        raise UsageError(f"the form #{message_id} ({record['subject']!r}) is {record['state']} already")
    return validate_response(record["form"], response)


def validate_response(form: dict, response: Any) -> dict:
    """The answer the flow receives: defaults filled in, values converted to their field's
    type, the pressed button's key True and other buttons' False, markdown keys dropped,
    optional fields left empty omitted. Raises ``FormErrors`` (a ``UsageError``) naming each
    field that is wrong and what to do."""
    fields = parse_form(form)
    if not isinstance(response, dict):
        raise UsageError(f"a form's response must be a JSON object of field -> value, not {type(response).__name__}")
    by_key = {f.key: f for f in fields}
    errors: dict[str, str] = {}
    unknown = [k for k in response if k not in by_key]
    if unknown:
        errors[""] = (f"the form has no field {', '.join(map(repr, unknown))}; "
                      f"its fields are {', '.join(repr(f.key) for f in fields if f.element != 'markdown')}")
    result: dict[str, Any] = {}
    for field in fields:
        if not field.has_value:
            continue
        value = response.get(field.key)
        if _is_empty(value):
            value = field.default
        else:
            try:
                value = _convert(field, value)
            except ValueError as exc:
                errors[field.key] = f"field {field.title}: {exc}"
                continue
        if _is_empty(value) and field.element in ("toggle", "checkbox"):
            value = False  # a box left alone is an answer: not ticked
        if _is_empty(value):
            if field.required:
                errors[field.key] = f"field {field.title} is required; {_how_to_fill(field)}"
            continue
        result[field.key] = value
    _press_button(fields, response, result, errors)
    if errors:
        raise FormErrors(errors)
    return result


def _press_button(fields: list[FormField], response: dict, result: dict, errors: dict[str, str]) -> None:
    buttons = [f for f in fields if f.element == "submit"]
    if not buttons:
        return
    pressed = []
    for button in buttons:
        try:
            if _to_bool(response.get(button.key, False)):
                pressed.append(button)
        except ValueError as exc:
            errors[button.key] = f"button {button.title}: {exc}"
    if len(pressed) > 1:
        errors[""] = f"press one button, not {len(pressed)}: {', '.join(b.title for b in pressed)}"
    elif not pressed and len(buttons) > 1:
        errors[""] = (f"press one of the buttons: set one of {', '.join(repr(b.key) for b in buttons)} to true")
    elif not pressed:
        pressed = buttons  # one button: answering at all means pressing it (the CLI's short form)
    for button in buttons:
        result[button.key] = button in pressed


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _how_to_fill(field: FormField) -> str:
    return {"select": "choose one of the options", "time": "enter a time such as 14:30",
            "date": "enter a date such as 2026-12-31", "number": "enter a number"}.get(field.element, "enter a value")


def _convert(field: FormField, value: Any) -> Any:
    """``value`` as the flow receives it for this field; ValueError saying what to enter."""
    element = field.element
    if element in ("string", "password"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ValueError(f"{value!r} is not text; enter text")
        return str(value)
    if element == "number":
        return _to_number(value, integer=field.type == "integer")
    if element in ("toggle", "checkbox"):
        return _to_bool(value)
    if element == "time":
        return _to_time(value)
    if element == "date":
        return _to_date(value)
    if element == "select":
        return _to_option(field, value)
    return value


def _to_number(value: Any, *, integer: bool) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number; enter a number")
    try:
        number = float(value.strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{value!r} is not a number; enter a number such as 42 or 2.5") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number; enter a number such as 42 or 2.5")
    if number.is_integer():
        return int(number)  # typing 3 gives the flow 3, as Cloudomation's JSON does
    if integer:
        raise ValueError(f"{value!r} is not a whole number; enter a whole number")
    return number


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError(f"{value!r} is not true or false; use true or false")


def _to_time(value: Any) -> str:
    """'HH:MM:SS', with the UTC offset when one was given ('14:30:00+01:00'): Cloudomation's
    flows read it with ``strptime(value, '%H:%M:%S%z')``."""
    if isinstance(value, str):
        try:
            return _dt.time.fromisoformat(value.strip()).isoformat(timespec="seconds")
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a time; enter a time such as 14:30 or 14:30:00+01:00")


def _to_date(value: Any) -> str:
    if isinstance(value, str):
        try:
            return _dt.date.fromisoformat(value.strip()).isoformat()
        except ValueError:
            pass
    raise ValueError(f"{value!r} is not a date; enter a date such as 2026-12-31")


def _to_option(field: FormField, value: Any) -> Any:
    for option, label in field.options:
        if value == option and type(value) is type(option):
            return option
    # By hand (the CLI) a person may type the label, or '2' for the option 2.
    for option, label in field.options:
        if isinstance(value, str) and value.strip() in (label, str(option)):
            return option
    choices = ", ".join(label if label == str(option) else f"{label} ({option!r})" for option, label in field.options)
    raise ValueError(f"{value!r} is not one of the options; choose one of: {choices}")
