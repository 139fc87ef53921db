"""A workspace with flows and webhooks, and `flowdesk serve` running on it."""

from __future__ import annotations

import pytest

from served import Served

FLOWS = {
    "echo": """
        import flow_api


        def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
            this.set_output(got=inputs)
            return this.success('echoed')
    """,
    "page": """
        import flow_api


        def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
            this.set_output(webhook_html_response='<h1>Order ' + inputs['query'].get('order', '?') + '</h1>')
    """,
    "broken": """
        import flow_api


        def handler(system: flow_api.System, this: flow_api.Execution, inputs: dict):
            return this.error('no stock for item 7')
    """,
}


@pytest.fixture
def hooks_workspace(workspace):
    """The example workspace plus the flows above and webhooks: 'hook' (echo, key), 'page',
    'broken', 'open' (echo, no key) enabled; 'off' (echo) left disabled as created."""
    from engine_core.webhooks import Webhooks
    from engine_core.workspace import Workspace

    for name, body in FLOWS.items():
        workspace.write_flow(name, body)
    hooks = Webhooks(Workspace.open(workspace.root))
    keys = {name: hooks.create(name, flow) for name, flow in
            [("hook", "echo"), ("page", "page"), ("broken", "broken"), ("off", "echo")]}
    hooks.create("open", "echo", key_required=False)
    for name in ("hook", "page", "broken", "open"):
        hooks.enable(name)
    workspace.keys = keys
    workspace.hooks = hooks
    return workspace


@pytest.fixture
def served(hooks_workspace):
    server = Served(hooks_workspace.root)
    server.keys = hooks_workspace.keys
    yield server
    code, out, err = server.stop()
    assert code == 0, err
    assert "Traceback" not in err, err
