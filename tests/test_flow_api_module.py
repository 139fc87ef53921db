"""``import flow_api`` outside a flow: for editors, type checkers and a plain shell."""

import inspect
import subprocess
import sys

import pytest

import flow_api


def test_public_names_have_docstrings_and_hints():
    for name in ("System", "Execution", "Setting", "Flow", "DependencyFailedError", "ResourceNotFoundError",
                 "FlowTimeoutError", "ConnectorError", "FlowApiError"):
        assert inspect.getdoc(getattr(flow_api, name)), name
    hints = inspect.signature(flow_api.Execution.flow)
    assert list(hints.parameters)[:3] == ["self", "flow_name", "name"]
    assert inspect.getdoc(flow_api.Execution.flow).startswith("Start a child execution")
    assert issubclass(flow_api.DependencyFailedError, flow_api.FlowApiError)


def test_calls_outside_a_flow_say_so():
    with pytest.raises(flow_api.NotInsideFlowError, match="only works inside a running flow"):
        flow_api.System().setting("x").get("value")


def test_importable_in_a_plain_interpreter():
    result = subprocess.run([sys.executable, "-c", "import flow_api; print(flow_api.Execution.__name__)"],
                            capture_output=True, text=True)
    assert result.stdout.strip() == "Execution"
