"""Run by the frozen executable (``flowdesk debug_flow.py WORKSPACE``): debug the example
*Main Process* with a breakpoint in its child *Calculator* through DebugSession, exactly as
the IDE does, and print what the debugger saw as one JSON line. Everything here runs inside
the frozen app: engine, forkserver, worker, debugpy and its adapter."""

import json
import sys


def main(workspace: str) -> dict:
    from engine_core import Engine
    from engine_core.debug import DebugSession

    with Engine(workspace) as engine:
        session = DebugSession(engine)
        calculator = str(engine.workspace.flow_path("Calculator"))
        session.start("Main Process", {}, {calculator: [{"line": 11}]}, timeout=60)
        stop = session.wait_for_stop(timeout=60)
        frames = session.stack()
        scope = next(s for s in session.scopes(frames[0].id) if s.name == "Locals")
        variables = {v.name: v.value for v in session.variables(scope.ref)}
        session.continue_()
        record = engine.wait(session.execution_id, timeout=60)
        session.wait_ended(timeout=15)
        return {
            "reason": stop.reason if stop else None,
            "stack": [[f.flow, f.line] for f in frames],
            "result": variables.get("result"),
            "status": record["status"],
            "frozen": bool(getattr(sys, "frozen", False)),
        }


if __name__ == "__main__":  # the forkserver imports this file again: only run it as the script
    print(json.dumps(main(sys.argv[1])), flush=True)
