"""Messages between the engine and a worker process, over a ``multiprocessing`` pipe.

engine -> worker
    ("run", execution_id, kind, target, path, source, inputs_json, debug)
        kind "flow": target is the flow name, source its script;
        kind "connection": target is the connector type, source is None;
        debug: serve the Debug Adapter Protocol (debugpy) and wait for a client first.
    ("reply", request_id, ok, value)     ok=False: value is (error class name, message);
        a reply {"inline": spec} to start_flow asks the worker to run the child itself
        (development mode) and report it with its own "done".
    ("stop",)

worker -> engine
    ("call", request_id, execution_id, op, payload)   a request that gets a reply
    ("note", execution_id, op, payload)                 fire-and-forget: log, message, output,
                                                        debug_listening {host, port}
    ("done", execution_id, status, message, traceback)  the handler returned or raised
"""

RUN = "run"
REPLY = "reply"
STOP = "stop"
CALL = "call"
NOTE = "note"
DONE = "done"
