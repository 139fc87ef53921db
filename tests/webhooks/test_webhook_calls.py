"""Webhooks over real HTTP: `flowdesk serve` in its own process, called with http.client;
what a caller gets back and what the execution tree stores."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from support import wait_until


@pytest.fixture
def store(hooks_workspace):
    from engine_core.runtime.engine import resolve_db_url
    from engine_core.store import Store
    from engine_core.workspace import Workspace

    opened = Store(resolve_db_url(Workspace.open(hooks_workspace.root), None))
    yield opened
    opened.close()


def roots(store) -> list[dict]:
    return store.executions(limit=100_000, roots_only=True)


def test_right_key_runs_the_flow_and_answers_its_outputs(served, store):
    answer = served.call("POST", served.path("hook"), json.dumps({"key": served.keys["hook"], "order": 7}),
                         {"Content-Type": "application/json", "Authorization": "Bearer s3cr3t-token",
                          "Cookie": "session=abc123"})
    assert answer.status == 200, answer.body
    got = answer.json["got"]
    assert got["method"] == "POST" and got["path"] == "" and got["query"] == {}
    assert got["json"] == {"order": 7}  # the key is taken out
    assert got["headers"]["authorization"] == "********" and got["headers"]["cookie"] == "********"
    [record] = roots(store)
    assert record["id"] == int(answer.headers["x-flowdesk-execution"])
    assert record["status"] == "success" and record["name"] == "webhook hook" and record["flow"] == "echo"
    stored = json.dumps(store.tree(record["id"]))
    assert served.keys["hook"] not in stored and "s3cr3t-token" not in stored and "abc123" not in stored


def test_sub_path_query_and_text_body_reach_the_inputs(served):
    key = served.keys["hook"]
    answer = served.call("PUT", served.path("hook", "/orders/42", f"x=1&x=2&mode=fast&key={key}"),
                         "plain words", {"Content-Type": "text/plain"})
    assert answer.status == 200, answer.body
    got = answer.json["got"]
    assert got["method"] == "PUT" and got["path"] == "/orders/42"
    assert got["query"] == {"x": ["1", "2"], "mode": "fast"}
    assert got["data"] == "plain words" and "json" not in got


def test_async_answers_the_id_at_once_and_the_execution_ends(served, store):
    answer = served.call("GET", served.path("hook", query=f"async=1&key={served.keys['hook']}"))
    assert answer.status == 200, answer.body
    execution_id = answer.json["id"]
    record = wait_until(lambda: (r := store.execution(execution_id)) and r["status"] == "success" and r,
                        what="the async execution's end")
    assert record["outputs"]["got"]["query"] == {}  # neither key nor async reach the flow


@pytest.mark.parametrize("how", ["no key", "wrong key in query", "wrong key in body"])
def test_wrong_or_missing_key_is_401_and_starts_nothing(served, store, how):
    if how == "no key":
        answer = served.call("POST", served.path("hook"), json.dumps({"a": 1}), {"Content-Type": "application/json"})
    elif how == "wrong key in query":
        answer = served.call("GET", served.path("hook", query="key=not-the-key"))
    else:
        answer = served.call("POST", served.path("hook"), json.dumps({"key": "not-the-key"}),
                             {"Content-Type": "application/json"})
    assert answer.status == 401
    assert "key" in answer.json["error"]
    assert served.call("GET", served.path("open")).status == 200  # the server works, and did log that one
    assert [r["name"] for r in roots(store)] == ["webhook open"]


def test_disabled_and_unknown_webhooks_are_404(served, store):
    off = served.call("GET", served.path("off", query=f"key={served.keys['off']}"))
    unknown = served.call("POST", served.path("nosuch"), "{}")
    assert (off.status, unknown.status) == (404, 404)
    assert "no enabled webhook 'off'" in off.json["error"]
    assert roots(store) == []


def test_enabling_and_regenerating_take_effect_on_the_running_server(served, hooks_workspace):
    hooks = hooks_workspace.hooks
    hooks.enable("off")
    assert served.call("GET", served.path("off", query=f"key={served.keys['off']}")).status == 200
    new_key = hooks.regenerate_key("off")
    assert served.call("GET", served.path("off", query=f"key={served.keys['off']}")).status == 401
    assert served.call("GET", served.path("off", query=f"key={new_key}")).status == 200


def test_malformed_json_is_400_with_the_reason(served, store):
    answer = served.call("POST", served.path("hook", query=f"key={served.keys['hook']}"), '{"a": 1,',
                         {"Content-Type": "application/json"})
    assert answer.status == 400
    assert answer.json["error"].startswith("the body is not valid JSON: Expecting")
    assert roots(store) == []


def test_a_body_over_the_limit_is_413_before_it_is_all_sent(served, store):
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.putrequest("POST", served.path("hook", query=f"key={served.keys['hook']}"))
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(50 * 1024 * 1024))
    conn.endheaders()
    conn.send(b"[" + b"1," * 1000)  # 50 MiB announced, 2 kB sent: the answer comes anyway
    response = conn.getresponse()
    assert response.status == 413
    assert "over the limit of 1048576 bytes" in json.loads(response.read())["error"]
    conn.close()
    # A chunked body says no length: it is cut off once it passes the limit.
    chunks = (b"x" * 65536 for _ in range(20))  # 1.25 MiB
    empty = served.call("POST", served.path("hook", query=f"key={served.keys['hook']}"), None)
    conn = http.client.HTTPConnection("127.0.0.1", served.port, timeout=30)
    conn.request("POST", served.path("hook", query=f"key={served.keys['hook']}"), body=chunks,
                 encode_chunked=True)
    assert conn.getresponse().status == 413
    conn.close()
    assert empty.status == 200  # an empty body is fine
    assert len(roots(store)) == 1


def test_html_response_and_error_end(served):
    page = served.call("GET", served.path("page", query=f"order=A-12&key={served.keys['page']}"))
    assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    assert page.body == b"<h1>Order A-12</h1>"
    broken = served.call("POST", served.path("broken", query=f"key={served.keys['broken']}"))
    assert broken.status == 500
    assert broken.json == {"id": broken.json["id"], "status": "error", "message": "no stock for item 7"}


def test_100_concurrent_calls_make_exactly_100_executions(served, store):
    answers: list = []
    lock = threading.Lock()

    def client(i: int) -> None:
        answer = served.call("POST", served.path("hook", f"/n/{i}", f"key={served.keys['hook']}"),
                             json.dumps({"i": i}), {"Content-Type": "application/json"})
        with lock:
            answers.append(answer)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(100)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert len(answers) == 100 and {a.status for a in answers} == {200}
    assert sorted(a.json["got"]["json"]["i"] for a in answers) == list(range(100))
    records = roots(store)
    assert len(records) == 100 and {r["status"] for r in records} == {"success"}
    assert sorted(r["inputs"]["path"] for r in records) == sorted(f"/n/{i}" for i in range(100))


def test_ctrl_c_stops_the_server_its_engine_and_workers(served):
    assert served.call("GET", served.path("open")).status == 200
    started = served.children()
    assert started  # the engine's forkserver at least
    code, out, err = served.stop()
    assert code == 0 and "flowdesk serve: stopped" in out and "Traceback" not in err
    wait_until(lambda: not any((Path("/proc") / str(pid)).exists() for pid in started),
               what="the server's processes gone")


def test_the_access_log_masks_the_key(hooks_workspace):
    from served import Served

    server = Served(hooks_workspace.root, "--access-log")
    key = hooks_workspace.keys["hook"]
    assert server.call("GET", server.path("hook", query=f"a=1&key={key}&b=2")).status == 200
    code, out, err = server.stop()
    assert code == 0
    assert "call?a=1&key=********&b=2" in out + err
    assert key not in out + err
