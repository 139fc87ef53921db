"""What the flow API offers, read from the ``flow_api`` package itself (no hand-written lists).

Completion and the linter both ask here: the members of ``this`` / ``system`` / the record
classes with their signatures and docstrings, the attribute names that really exist on them,
and the type an expression such as ``system.setting('x').acquire()`` has, from the return
annotations. ``flow_api`` uses ``from __future__ import annotations``: annotations are source
text (``"Execution"``, ``"Setting | None"``, ``"list[File]"``) resolved here by name.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
import types
from dataclasses import dataclass
from functools import lru_cache

import flow_api

from .problems import Completion

# The handler's first parameter is ``system``, the second ``this``, whatever they are called.
HANDLER_PARAMETER_CLASSES: tuple[type, type] = (flow_api.System, flow_api.Execution)
API_CLASSES: dict[str, type] = {"system": flow_api.System, "this": flow_api.Execution}

# `Optional[X]`, `X | None`, `list[X]`, ... in annotation text.
_QUOTES = re.compile("['\"]")
_OPTIONAL = re.compile(r"(?:typing\.)?Optional\[(.+)\]\Z")
_SEQUENCE = re.compile(r"(?:typing\.)?(?:list|List|tuple|Tuple|Sequence|Iterable|Iterator|set|Set|frozenset)"
                       r"\[\s*([\w.]+)\s*(?:,\s*\.\.\.\s*)?\]\Z")
_CONSTANT_NAME = re.compile(r"[A-Z][A-Z0-9_]*\Z")


@dataclass(frozen=True)
class Target:
    """What an expression is: an instance of a class, a class itself, a module, a function
    (not called yet), or a list of instances (``system.files()``)."""

    kind: str  # "instance" | "class" | "module" | "function" | "list"
    value: object


def completions(target: Target) -> tuple[Completion, ...] | None:
    """The members to offer after ``<target>.``; None when it is not the flow API's to answer."""
    if target.kind == "instance" and isinstance(target.value, type):
        return class_members(target.value, True)
    if target.kind == "class" and isinstance(target.value, type):
        return class_members(target.value, False)
    if target.kind == "module" and isinstance(target.value, types.ModuleType):
        return module_members(target.value)
    return None


# -- members ------------------------------------------------------------------------------

@lru_cache(maxsize=None)
def class_members(cls: type, instance: bool = True) -> tuple[Completion, ...]:
    """The public members of ``cls`` sorted by name, methods with signatures, all with their
    docstrings. ``instance``: also the attributes set on instances (``self.id = ...``)."""
    documented = _attribute_docs(cls)
    names = {name for name in dir(cls) if not name.startswith("_")}
    if instance:
        names |= {name for name in _instance_attributes(cls) if not name.startswith("_")}
    return tuple(_class_member(cls, name, documented.get(name, "")) for name in sorted(names))


@lru_cache(maxsize=None)
def module_members(module: types.ModuleType) -> tuple[Completion, ...]:
    """The public names of a flow_api module (``__all__`` when it has one): classes,
    exceptions, submodules."""
    names = getattr(module, "__all__", None)
    if names is None:
        names = [name for name in vars(module) if not name.startswith("_")]
    documented = _module_attribute_docs(module)
    found = []
    for name in sorted(set(names)):
        value = getattr(module, name, None)
        if isinstance(value, types.ModuleType):
            found.append(Completion(name, name, "module", "", _doc(value)))
        elif isinstance(value, type):
            found.append(Completion(name, name, "class", _class_signature(value), _doc(value)))
        elif inspect.isfunction(value):
            found.append(Completion(name, name, "function", name + _signature_text(value, 0), _doc(value)))
        else:
            found.append(_data_member(name, value, documented.get(name, "")))
    return tuple(found)


@lru_cache(maxsize=None)
def real_attribute_names(cls: type) -> frozenset[str] | None:
    """Every attribute an instance of ``cls`` may have (private and dunder ones too); None when
    the class answers any name (``__getattr__``), so nothing can be called misspelt."""
    if any("__getattr__" in vars(klass) for klass in cls.__mro__ if klass is not object):
        return None
    names = set(dir(cls)) | _instance_attributes(cls)
    for klass in cls.__mro__:
        names |= set(getattr(klass, "__annotations__", {}))
    return frozenset(names)


@lru_cache(maxsize=None)
def public_member_names(cls: type) -> tuple[str, ...]:
    return tuple(completion.name for completion in class_members(cls, True))


def _class_member(cls: type, name: str, attribute_doc: str) -> Completion:
    value = inspect.getattr_static(cls, name, None)
    if isinstance(value, (staticmethod, classmethod)):
        function = value.__func__
        skip = 1 if isinstance(value, classmethod) else 0
        return Completion(name, name, "method", name + _signature_text(function, skip), _doc(function))
    if inspect.isfunction(value):
        return Completion(name, name, "method", name + _signature_text(value, 1), _doc(value))
    if isinstance(value, property):
        returns = _returns_text(value.fget) if value.fget is not None else ""
        return Completion(name, name, "property", f"{name}{returns}", _doc(value) or attribute_doc)
    if isinstance(value, type):
        # A class kept as a namespace, e.g. ``system.return_when``: its own docstring if the
        # attribute has none.
        return Completion(name, name, "attribute", "", attribute_doc or _doc(value))
    return _data_member(name, value, attribute_doc)


def _data_member(name: str, value: object, doc: str) -> Completion:
    if _CONSTANT_NAME.match(name) and isinstance(value, (str, int, float, bool)):
        return Completion(name, name, "constant", f"{name} = {value!r}", doc)
    return Completion(name, name, "attribute", "", doc)


def _doc(value: object) -> str:
    """The cleaned-up docstring of a function, property, class or module ('' if none)."""
    try:
        return inspect.getdoc(value) or ""
    except Exception:  # noqa: BLE001 - a docstring is a nicety
        return ""


def _signature_text(function: object, skip: int) -> str:
    """``(flow_name, inputs=None, *, wait=True, **kw) -> Execution``: parameters without
    annotations (short enough for a tooltip; ``skip`` drops ``self``/``cls``), the return type
    without string quotes."""
    try:
        signature = inspect.signature(function)
    except (TypeError, ValueError):
        return "(...)"
    parameters = [parameter.replace(annotation=inspect.Parameter.empty)
                  for parameter in list(signature.parameters.values())[skip:]]
    text = str(signature.replace(parameters=parameters, return_annotation=inspect.Signature.empty))
    return text + _returns_text(function)


def _returns_text(function: object) -> str:
    try:
        returns = inspect.signature(function).return_annotation
    except (TypeError, ValueError):
        return ""
    if returns is inspect.Signature.empty:
        return ""
    returns = returns if isinstance(returns, str) else inspect.formatannotation(returns)
    return f" -> {_QUOTES.sub('', returns)}"


def _class_signature(cls: type) -> str:
    text = _signature_text(cls, 0)  # inspect.signature(cls) already leaves out `self`
    return "" if text == "(...)" else cls.__name__ + text


# -- what the source says (attribute docstrings, self.x = ...) -----------------------------

@lru_cache(maxsize=None)
def _class_tree(cls: type) -> ast.ClassDef | None:
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
    except (OSError, TypeError, SyntaxError):  # no source, e.g. in a frozen build
        return None
    node = tree.body[0] if tree.body else None
    return node if isinstance(node, ast.ClassDef) else None


def _instance_attributes(cls: type) -> set[str]:
    """Attributes set on ``self`` in the methods of ``cls`` and its bases (``self.id = ...``),
    which ``dir(cls)`` misses."""
    names: set[str] = set()
    for klass in cls.__mro__:
        if klass is object or klass.__module__ == "builtins":
            continue
        tree = _class_tree(klass)
        if tree is None:
            continue
        for node in ast.walk(tree):
            if (isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store)
                    and isinstance(node.value, ast.Name) and node.value.id == "self"):
                names.add(node.attr)
    return names


def _attribute_docs(cls: type) -> dict[str, str]:
    """The docstrings written under attributes (``ALL_ENDED = '...'`` then a string), also
    under ``self.x = ...`` in ``__init__``; base classes first, so a subclass's own win."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if klass is object or klass.__module__ == "builtins":
            continue
        tree = _class_tree(klass)
        if tree is None:
            continue
        docs.update(_docs_after_assignments(tree.body))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name == "__init__":
                docs.update(_docs_after_assignments(node.body, "self"))
    return docs


@lru_cache(maxsize=None)
def _module_attribute_docs(module: types.ModuleType) -> dict[str, str]:
    try:
        tree = ast.parse(inspect.getsource(module))
    except (OSError, TypeError, SyntaxError):
        return {}
    return _docs_after_assignments(tree.body)


def _docs_after_assignments(body: list[ast.stmt], owner: str | None = None) -> dict[str, str]:
    docs = {}
    for statement, following in zip(body, body[1:]):
        if not (isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            continue
        targets = statement.targets if isinstance(statement, ast.Assign) else (
            [statement.target] if isinstance(statement, ast.AnnAssign) else [])
        for target in targets:
            if owner is None and isinstance(target, ast.Name):
                docs[target.id] = inspect.cleandoc(following.value.value)
            elif (owner is not None and isinstance(target, ast.Attribute)
                  and isinstance(target.value, ast.Name) and target.value.id == owner):
                docs[target.attr] = inspect.cleandoc(following.value.value)
    return docs


# -- the type of an expression -------------------------------------------------------------

def step(target: Target, kind: str, name: str = "") -> Target | None:
    """The target of ``<target>.name`` (``kind="attribute"``), ``<target>(...)`` (``"call"``) or
    ``<target>[...]`` (``"item"``); None when the flow API does not say."""
    if kind == "attribute":
        return _attribute(target, name)
    if kind == "call":
        if target.kind == "function":
            return _returned(target.value)
        if target.kind == "class" and _is_flow_api(target.value):
            return Target("instance", target.value)
        return None
    if kind == "item" and target.kind == "list":
        return Target("instance", target.value)
    return None


def _attribute(target: Target, name: str) -> Target | None:
    if target.kind == "module":
        value = getattr(target.value, name, None)
        if isinstance(value, types.ModuleType) and value.__name__.startswith("flow_api"):
            return Target("module", value)
        if isinstance(value, type) and _is_flow_api(value):
            return Target("class", value)
        if inspect.isfunction(value):
            return Target("function", value)
        return None
    if target.kind not in ("instance", "class") or not isinstance(target.value, type):
        return None
    cls = target.value
    value = inspect.getattr_static(cls, name, None)
    if isinstance(value, (staticmethod, classmethod)):
        return Target("function", value.__func__)
    if inspect.isfunction(value):
        return Target("function", value)
    if isinstance(value, property):
        return _returned(value.fget) if value.fget is not None else None
    if isinstance(value, type):
        return Target("class", value) if _is_flow_api(value) else None
    if value is not None and _is_flow_api(type(value)):
        return Target("instance", type(value))
    for klass in cls.__mro__:
        annotation = getattr(klass, "__annotations__", {}).get(name)
        if annotation is not None:
            return _annotation_target(annotation, klass.__module__)
    return None


def _returned(function: object) -> Target | None:
    try:
        annotation = inspect.signature(function).return_annotation
    except (TypeError, ValueError):
        return None
    if annotation is inspect.Signature.empty:
        return None
    return _annotation_target(annotation, getattr(function, "__module__", None))


def _annotation_target(annotation: object, module_name: str | None) -> Target | None:
    """The target an annotation names, when it is a flow_api class, an optional one or a list of
    them; None for anything else (``Any``, ``dict``, unions)."""
    if isinstance(annotation, type):
        return Target("instance", annotation) if _is_flow_api(annotation) else None
    if not isinstance(annotation, str):
        return None
    text = _QUOTES.sub("", annotation).strip()
    optional = _OPTIONAL.match(text)
    if optional:
        text = optional[1].strip()
    parts = [part.strip() for part in text.split("|") if part.strip() != "None"]
    if len(parts) != 1:
        return None
    text = parts[0]
    sequence = _SEQUENCE.match(text)
    cls = _named_class(sequence[1] if sequence else text, module_name)
    if cls is None:
        return None
    return Target("list" if sequence else "instance", cls)


def _named_class(dotted: str, module_name: str | None) -> type | None:
    """The flow_api class a name in an annotation stands for, looked up in the module that wrote
    it and then in ``flow_api`` (names imported only for type checking are not in the module)."""
    if not re.fullmatch(r"[A-Za-z_][\w.]*", dotted):
        return None
    first, *rest = dotted.split(".")
    module = sys.modules.get(module_name or "")
    for namespace in (vars(module) if module else {}, vars(flow_api), {"flow_api": flow_api}):
        value = namespace.get(first)
        if value is None:
            continue
        for part in rest:
            value = getattr(value, part, None)
        if isinstance(value, type) and _is_flow_api(value):
            return value
    return None


def _is_flow_api(cls: object) -> bool:
    return isinstance(cls, type) and (cls.__module__ == "flow_api" or cls.__module__.startswith("flow_api."))
