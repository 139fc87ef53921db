"""Completion of the flow API read from flow_api itself: the members the contract names on
``this`` / ``system`` / the records, chains whose type the return annotations give, and
``flow_api.`` / ``system.return_when.``; every member with its signature and docstring."""

from __future__ import annotations

import inspect
import time
from typing import TYPE_CHECKING

import pytest

import flow_api
from engine_core.analysis import Completion, api_model, complete, flow_api_members

if TYPE_CHECKING:  # only for the annotation: at run time the name is looked up in flow_api
    from flow_api import Setting  # noqa: F401

HANDLER = "import flow_api\n\ndef handler(system, this, inputs):\n"

# The contract (flowdesk issue 9, "flow_api surface"): the members each object must offer.
THIS_MEMBERS = ["flow", "connect", "task", "run", "run_async", "wait", "wait_for", "cancel", "pause",
                "resume", "using", "get", "load", "get_inputs", "set_output", "save", "set", "log",
                "message", "success", "error", "end", "sleep", "sleep_until"]
SYSTEM_METHODS = ["setting", "file", "flow", "execution", "message", "settings", "files", "flows",
                  "get_own_user", "get_own_client"]
RECORD_MEMBERS = {
    "system.setting('x').": ["get", "save", "exists", "delete", "acquire", "release", "list_append"],
    "system.file('report.csv').": ["get", "save", "exists", "delete"],
    "system.flow('Calculator').": ["get", "save", "exists", "delete"],
    "system.message(subject='Approve?', body=FORM).": ["get", "wait"],
    "system.message(42).": ["get", "wait"],
    "system.get_own_user().": ["get"],
    "system.get_own_client().": ["get"],
}
EXCEPTIONS = ["EngineException", "ResourceNotFoundError", "DependencyFailedError", "MissingInputError",
              "InvalidInputError", "PermissionDenied", "InternalError", "TimeoutExceededError",
              "LockTimeoutError", "DependencyTimeoutError", "MessageResponseTimeoutError", "ConnectorError",
              "NotInsideFlowError", "FlowApiError", "FlowTimeoutError", "LifecycleSignal", "ExecutionSuccess",
              "ExecutionError", "ExecutionCancel"]
RECORD_CLASSES = ["Execution", "System", "Setting", "File", "Flow", "Message", "User", "Client"]


def at_end(source: str) -> list[Completion]:
    lines = source.split("\n")
    return complete(source, len(lines), len(lines[-1]))


def offered(tail: str, prefix: str = HANDLER + "    ") -> dict[str, Completion]:
    return {item.name: item for item in at_end(prefix + tail)}


def assert_documented_methods(found: dict[str, Completion], expected: list[str]) -> None:
    missing = sorted(set(expected) - set(found))
    assert not missing, f"not offered: {missing}"
    for name in expected:
        item = found[name]
        assert item.kind == "method", item
        assert item.signature.startswith(f"{name}(") and ")" in item.signature, item
        assert item.doc, f"{name} has no docstring"
        assert item.insert == name


# -- this and system ----------------------------------------------------------------------

def test_this_offers_every_member_of_the_contract_with_signature_and_docstring():
    found = offered("this.")
    assert_documented_methods(found, THIS_MEMBERS)
    assert found["id"].kind == "attribute"  # set in __init__


def test_system_offers_every_member_of_the_contract_with_signature_and_docstring():
    found = offered("system.")
    assert_documented_methods(found, SYSTEM_METHODS)
    assert found["return_when"].kind == "attribute"
    assert "ALL_SUCCEEDED" in found["return_when"].doc


def test_signatures_follow_the_contract():
    this = offered("this.")
    system = offered("system.")
    assert this["flow"].signature.startswith("flow(flow_name, inputs=None, name=None, run=True, wait=True, **")
    assert this["flow"].signature.endswith(") -> Execution")
    assert this["connect"].signature.startswith("connect(connector_type=None, name=None, inputs=None, ")
    assert this["task"].signature.startswith("task(connector_type, inputs=None, **")
    assert this["wait_for"].signature.startswith("wait_for(*executions, return_when=")
    assert "timeout=None" in this["wait_for"].signature
    assert this["using"].signature.startswith("using(wrapper, **config)")
    assert this["sleep_until"].signature.startswith("sleep_until(timestamp)")
    assert this["end"].signature.startswith("end(status")
    assert this["save"].signature.startswith("save(**fields)")
    assert system["message"].signature.startswith("message(id=None, subject=None, body=None, message=None")
    assert system["files"].signature.startswith("files(filter=None)")
    assert system["get_own_user"].signature == "get_own_user() -> User"


def test_docstrings_are_the_methods_own():
    this = offered("this.")
    assert this["sleep_until"].doc == inspect.getdoc(flow_api.Execution.sleep_until)
    assert offered("system.")["setting"].doc == inspect.getdoc(flow_api.System.setting)
    assert "\n" in this["flow"].doc  # the whole docstring, not only its first line


# -- chains -------------------------------------------------------------------------------

@pytest.mark.parametrize("chain", sorted(RECORD_MEMBERS))
def test_records_returned_by_system_offer_their_members(chain):
    assert_documented_methods(offered(chain), RECORD_MEMBERS[chain])


def test_setting_lock_and_list_signatures():
    found = offered("system.setting('lock').")
    assert found["acquire"].signature.startswith("acquire(timeout=None)")
    assert found["release"].signature.startswith("release()")
    assert found["list_append"].signature.startswith("list_append(value)")
    assert found["save"].signature.startswith("save(value=")
    assert found["name"].kind in ("attribute", "property")


def test_file_save_signature():
    assert offered("system.file('a.txt').")["save"].signature.startswith("save(content=")
    assert "convert_binary=False" in offered("system.file('a.txt').")["save"].signature


def test_child_executions_offer_execution_members():
    for chain in ("this.flow('Calculator', wait=False).", "this.connect('REST', url='x').",
                  "this.task('REST').", "system.execution(7).", "this.flow('A').wait().",
                  "this.task('REST').run_async()."):
        found = offered(chain)
        assert {"wait", "cancel", "get", "run", "run_async"} <= set(found), chain


def test_using_offers_flow_and_connect_and_chains():
    for chain in ("this.using('retry').", "this.using('retry', max_tries=2).using('timeout', timeout_sec=5)."):
        found = offered(chain)
        assert {"flow", "connect"} <= set(found), chain
        assert found["flow"].signature.startswith("flow(flow_name")
        assert found["flow"].doc
    assert offered("this.using('retry').flow('Calculator').w")["wait"].kind == "method"


def test_return_when_constants():
    found = offered("system.return_when.")
    assert {"ALL_SUCCEEDED", "ALL_ENDED", "FIRST_ENDED"} <= set(found)
    assert found["ALL_ENDED"].kind == "constant"
    assert found["ALL_ENDED"].signature == f"ALL_ENDED = {flow_api.System.return_when.ALL_ENDED!r}"
    assert list(offered("system.return_when.FI")) == ["FIRST_ENDED"]


def test_list_results_give_their_elements_members():
    assert "acquire" in offered("system.settings()[0].")
    assert "exists" in offered("system.files(filter='*.csv')[-1].")


def test_chain_split_over_lines_and_brackets_inside_strings():
    assert list(offered("system.setting(\n        'a)b]'\n    ).acq")) == ["acquire"]
    assert list(offered("this.flow('x(', inputs={'a': [1, (2)]}) . wa")) == ["wait", "wait_for"]


def test_old_style_handler_with_other_names():
    found = offered("me.", prefix="def handler(sys_, me):\n    ")
    assert_documented_methods(found, THIS_MEMBERS)
    assert "acquire" in offered("sys_.setting('x').", prefix="def handler(sys_, me):\n    ")


# -- flow_api. ----------------------------------------------------------------------------

def test_flow_api_module_offers_exceptions_and_classes():
    found = offered("flow_api.")
    assert set(EXCEPTIONS + RECORD_CLASSES) <= set(found)
    assert found["exceptions"].kind == "module"
    assert found["ResourceNotFoundError"].kind == "class"
    assert found["ResourceNotFoundError"].doc
    assert found["Setting"].signature == "Setting(name)"


def test_flow_api_exceptions_module():
    found = offered("flow_api.exceptions.")
    assert set(EXCEPTIONS) <= set(found)
    assert all(item.kind == "class" for item in found.values())
    assert list(offered("flow_api.exceptions.LockT")) == ["LockTimeoutError"]


def test_flow_api_imported_under_another_name_and_record_classes():
    assert "Setting" in offered("api.", prefix="import flow_api as api\n\ndef handler(system, this, inputs):\n    ")
    assert "acquire" in offered("flow_api.Setting('x').")
    assert "FIRST_ENDED" in offered("flow_api.System.return_when.")


def test_flow_api_without_the_import_is_left_to_jedi():
    assert isinstance(at_end("def handler(system, this, inputs):\n    flow_api."), list)


# -- what is not the flow API's -----------------------------------------------------------

def test_unknown_types_are_left_to_jedi():
    # `get` returns Any: jedi answers (here: nothing it can infer for an unannotated `this`).
    found = at_end(HANDLER + "    this.get('output_value').")
    assert "acquire" not in [item.name for item in found]


def test_nothing_in_comments_and_jedi_in_strings():
    assert at_end(HANDLER + "    # this.") == []
    assert at_end(HANDLER + "    this.log('this.") == []
    assert at_end(HANDLER + '    x = """\n    this.') == []


def test_other_names_are_not_the_flow_api():
    names = [item.name for item in at_end(HANDLER + "    child.")]
    assert "acquire" not in names and "sleep_until" not in names


# -- introspection: members the lead adds appear without changes here ----------------------

class _Sample:
    """A stand-in for a flow_api class."""

    LIMIT = 3
    """How many."""

    def __init__(self, name: str):
        self.name = name
        """What it is called."""

    def brand_new(self, value: int, *, timeout: float | None = None) -> "Setting":
        """Added later."""

    @staticmethod
    def helper(a, b=1) -> None:
        """Static."""

    @property
    def size(self) -> int:
        """How big."""
        return 1


def test_any_class_is_introspected_with_signatures_and_docstrings():
    found = {item.name: item for item in api_model.class_members(_Sample)}
    assert set(found) == {"LIMIT", "brand_new", "helper", "name", "size"}
    assert found["brand_new"] == Completion("brand_new", "brand_new", "method",
                                            "brand_new(value, *, timeout=None) -> Setting", "Added later.")
    assert found["helper"].signature == "helper(a, b=1) -> None"
    assert found["size"] == Completion("size", "size", "property", "size -> int", "How big.")
    assert found["LIMIT"] == Completion("LIMIT", "LIMIT", "constant", "LIMIT = 3", "How many.")
    assert found["name"] == Completion("name", "name", "attribute", "", "What it is called.")
    # The string annotation is resolved in flow_api: `.brand_new(...).` completes a Setting.
    target = api_model.step(api_model.step(api_model.Target("instance", _Sample), "attribute", "brand_new"), "call")
    assert target == api_model.Target("instance", flow_api.Setting)


@pytest.mark.parametrize("annotation, expected", [
    ("Execution", ("instance", "Execution")),
    ("'Execution'", ("instance", "Execution")),
    ("Setting | None", ("instance", "Setting")),
    ("Optional[File]", ("instance", "File")),
    ("flow_api.Message", ("instance", "Message")),
    ("list[File]", ("list", "File")),
    ("list['Setting']", ("list", "Setting")),
    ("Any", None),
    ("dict", None),
    ("Setting | File", None),
])
def test_annotations_are_resolved_from_text(annotation, expected):
    target = api_model._annotation_target(annotation, "flow_api.system")
    assert (None if target is None else (target.kind, target.value.__name__)) == expected


def test_member_lists_are_cached_and_fast():
    flow_api_members("this")
    source = HANDLER + "\n".join(f"    this.log({i})" for i in range(3000)) + "\n    system.setting('x')."
    started = time.perf_counter()
    found = at_end(source)
    elapsed = time.perf_counter() - started
    assert "acquire" in [item.name for item in found]
    assert elapsed < 0.2, f"{elapsed * 1000:.0f} ms"
