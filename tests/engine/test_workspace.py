"""Workspace folders and the flow file operations of the explorer."""

import pytest

from engine_core.errors import FlowExistsError, UnknownFlowError
from engine_core.workspace import Workspace


def test_create_rename_delete_flow(tmp_path):
    ws = Workspace.open(tmp_path, create=True)
    path = ws.create_flow("New Flow")
    assert path.read_text().startswith("import flow_api")
    assert ws.flow_names() == ["New Flow"]
    with pytest.raises(FlowExistsError, match="a flow 'New Flow' already exists"):
        ws.create_flow("New Flow")
    ws.rename_flow("New Flow", "Renamed")
    assert ws.flow_names() == ["Renamed"]
    ws.create_flow("Other")
    with pytest.raises(FlowExistsError):
        ws.rename_flow("Other", "Renamed")
    ws.delete_flow("Renamed")
    assert ws.flow_names() == ["Other"]
    with pytest.raises(UnknownFlowError, match="no flow 'Renamed' to delete"):
        ws.delete_flow("Renamed")


@pytest.mark.parametrize("bad", ["", " padded", "a/b", ".hidden", "back\\\\slash"])
def test_invalid_flow_names(tmp_path, bad):
    ws = Workspace.open(tmp_path, create=True)
    with pytest.raises(UnknownFlowError, match="is not a valid flow name"):
        ws.create_flow(bad)


def test_state_dir_ignores_itself(tmp_path):
    ws = Workspace.open(tmp_path, create=True)
    assert (ws.state_dir / ".gitignore").read_text() == "*\n"
