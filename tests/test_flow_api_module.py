"""``import flow_api`` outside a flow: for editors, type checkers and a plain shell."""

import inspect
import subprocess
import sys

import pytest

import flow_api


def test_public_names_have_docstrings_and_hints():
    for name in flow_api.__all__:
        assert inspect.getdoc(getattr(flow_api, name)), name
    for cls in (flow_api.Execution, flow_api.System, flow_api.Setting, flow_api.File, flow_api.Flow,
                flow_api.Message, flow_api.Wrapped):
        for member, value in vars(cls).items():
            if callable(value) and not member.startswith("_"):
                assert inspect.getdoc(value), f"{cls.__name__}.{member} has no docstring"
    hints = inspect.signature(flow_api.Execution.flow)
    # Cloudomation's order: a flow may pass inputs positionally, this.flow('X', {'a': 1}).
    assert list(hints.parameters)[:6] == ["self", "flow_name", "inputs", "name", "run", "wait"]
    assert inspect.getdoc(flow_api.Execution.flow).startswith("Start a child execution")
    assert issubclass(flow_api.DependencyFailedError, flow_api.FlowApiError)


def test_exceptions_module_has_the_documented_hierarchy():
    from flow_api import exceptions as ex

    for name in ("ResourceNotFoundError", "DependencyFailedError", "MissingInputError", "InvalidInputError",
                 "PermissionDenied", "InternalError", "TimeoutExceededError"):
        assert issubclass(getattr(ex, name), ex.EngineException), name
        assert getattr(flow_api, name) is getattr(ex, name)
    for name in ("LockTimeoutError", "DependencyTimeoutError", "MessageResponseTimeoutError"):
        assert issubclass(getattr(ex, name), ex.TimeoutExceededError), name
    for name in ("ExecutionSuccess", "ExecutionError", "ExecutionCancel"):
        signal = getattr(ex, name)
        assert issubclass(signal, ex.LifecycleSignal) and not issubclass(signal, Exception), name
    assert issubclass(ex.LifecycleSignal, BaseException)


def test_calls_outside_a_flow_say_so():
    with pytest.raises(flow_api.NotInsideFlowError, match="only works inside a running flow"):
        flow_api.System().setting("x").get("value")


def test_importable_in_a_plain_interpreter():
    result = subprocess.run([sys.executable, "-c", "import flow_api; print(flow_api.Execution.__name__)"],
                            capture_output=True, text=True)
    assert result.stdout.strip() == "Execution"
