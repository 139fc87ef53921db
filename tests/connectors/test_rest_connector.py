"""The REST connector (flows.md, Connectors: url or scheme/host/port/path, method, headers,
params/query, json, data, expected_status_code, allow_redirects, timeouts, verify_ssl, basic and
bearer auth, retries) through flows run by the real engine against a real HTTP server on
127.0.0.1; the tests read what a user sees: the stored tree, its inputs, outputs and messages."""

from __future__ import annotations

import base64
import json
import socket
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "engine"))
from api_support import find_nodes, run_flow  # noqa: E402
from support import QuietHandler, send_json, serving_http

SECRET = "pa55-Wörd-9x"
TOKEN = "tok-abcdef-123456"


class _Handler(QuietHandler):
    counts: dict[str, int] = {}
    authorizations: list = []  # what the server received (the flow's outputs mask secrets)
    lock = threading.Lock()

    def _answer(self) -> None:
        parts = urllib.parse.urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        code, extra = 200, {}
        _Handler.authorizations.append(self.headers.get("Authorization"))
        if parts.path.startswith("/status/"):
            code = int(parts.path.split("/")[2])
        elif parts.path == "/redirect":
            code, extra = 302, {"Location": "/landed"}
        elif parts.path == "/redirect-to":
            code, extra = 302, {"Location": urllib.parse.parse_qs(parts.query)["to"][0]}
        elif parts.path.startswith("/flaky/"):  # /flaky/KEY/N: 503 for the first N requests to KEY
            _, _, key, failures = parts.path.split("/")[:4]
            with _Handler.lock:
                seen = _Handler.counts[key] = _Handler.counts.get(key, 0) + 1
            code = 503 if seen <= int(failures) else 200
        elif parts.path == "/slow":
            time.sleep(3)
        payload = json.dumps({"method": self.command, "path": parts.path, "query": urllib.parse.parse_qs(parts.query),
                              "authorization": self.headers.get("Authorization"),
                              "content_type": self.headers.get("Content-Type"), "x_trace": self.headers.get("X-Trace"),
                              "body": raw.decode("utf-8", "replace"), "count": _Handler.counts}).encode()
        try:
            send_json(self, code, payload, extra)
        except OSError:  # the client gave up (the read timeout test)
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer


@pytest.fixture
def server():
    with serving_http(_Handler) as httpd:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"


def _connections(tree) -> list[dict]:
    return find_nodes(tree, kind="connection")


# A flow that makes one connection with the given inputs and reports its outputs or its failure.
CALL = """
    import flow_api
    def handler(system, this, inputs):
        try:
            response = this.connect('REST', **inputs['call'])
        except flow_api.DependencyFailedError as exc:
            return this.set_output(failed=str(exc))
        this.set_output(out=response.get('output_value'))
"""


def call(engine, workspace, name: str, **inputs):
    record, tree = run_flow(engine, workspace, name, CALL, inputs={"call": inputs})
    assert record["status"] == "success", record["message"]
    (connection,) = _connections(tree)
    return record["outputs"], connection


def test_get_with_query_and_post_json(engine, workspace, server):
    out, connection = call(engine, workspace, "Get", url=f"{server}/items?a=1", params={"b": ["2", "3"]},
                           headers={"X-Trace": "t-1"})
    assert connection["status"] == "success"
    answer = out["out"]
    assert answer["status_code"] == 200
    assert answer["json"]["query"] == {"a": ["1"], "b": ["2", "3"]}
    assert answer["json"]["x_trace"] == "t-1"
    assert answer["url"] == f"{server}/items?a=1&b=2&b=3"

    out, _ = call(engine, workspace, "Post", scheme="http", host="127.0.0.1", port=int(server.rsplit(":", 1)[1]),
                  path="items", method="post", json={"name": "widget", "n": 2}, query={"dry": "1"})
    answer = out["out"]["json"]
    assert (answer["method"], answer["path"], answer["query"]) == ("POST", "/items", {"dry": ["1"]})
    assert json.loads(answer["body"]) == {"name": "widget", "n": 2}
    assert answer["content_type"] == "application/json"

    out, _ = call(engine, workspace, "Form", url=f"{server}/form", method="PUT", data={"a": "x y"})
    assert out["out"]["json"]["body"] == "a=x+y"
    assert out["out"]["json"]["content_type"] == "application/x-www-form-urlencoded"


def test_unexpected_status_fails_the_connection_with_status_and_body(engine, workspace, server):
    out, connection = call(engine, workspace, "Teapot", url=f"{server}/status/418")
    assert connection["status"] == "error"
    assert "HTTP 418" in connection["message"] and "expected 200–204" in connection["message"]
    assert '"path": "/status/418"' in connection["message"], "a short excerpt of the body"
    assert out["failed"].startswith("child execution 'REST'"), out
    assert "HTTP 418" in out["failed"]

    out, connection = call(engine, workspace, "Expected", url=f"{server}/status/418", expected_status_code=[418, 200])
    assert (connection["status"], out["out"]["status_code"]) == ("success", 418)

    out, connection = call(engine, workspace, "Not expected", url=f"{server}/items", expected_status_code=201)
    assert connection["status"] == "error"
    assert "HTTP 200" in connection["message"] and "expected 201" in connection["message"]

    out, connection = call(engine, workspace, "Old alias", url=f"{server}/status/404", allow_error_status=True)
    assert (connection["status"], out["out"]["status_code"]) == ("success", 404)


def test_redirects_followed_or_not(engine, workspace, server):
    out, _ = call(engine, workspace, "Follow", url=f"{server}/redirect")
    assert (out["out"]["status_code"], out["out"]["json"]["path"]) == (200, "/landed")
    assert out["out"]["url"] == f"{server}/landed"

    out, connection = call(engine, workspace, "Stay", url=f"{server}/redirect", allow_redirects=False)
    assert connection["status"] == "success", connection["message"]
    assert out["out"]["status_code"] == 302
    assert out["out"]["headers"]["Location"] == "/landed"

    out, connection = call(engine, workspace, "Stay strict", url=f"{server}/redirect", allow_redirects=False,
                           expected_status_code=200)
    assert connection["status"] == "error" and "HTTP 302" in connection["message"]


def test_basic_and_bearer_auth_reach_the_server_and_are_masked_in_the_tree(engine, workspace, server):
    out, connection = call(engine, workspace, "Basic", url=f"{server}/me", username="alice", password=SECRET)
    expected = "Basic " + base64.b64encode(f"alice:{SECRET}".encode()).decode()
    assert _Handler.authorizations[-1] == expected
    assert connection["inputs"]["password"] == "********"
    assert connection["inputs"]["username"] == "alice"

    out, connection = call(engine, workspace, "Bearer", url=f"{server}/me", bearer_token=TOKEN)
    assert _Handler.authorizations[-1] == f"Bearer {TOKEN}"
    assert connection["inputs"]["bearer_token"] == "********"

    # Credentials inside the URL become basic auth, and stay out of the outputs.
    host = server.split("://")[1]
    out, connection = call(engine, workspace, "In URL", url=f"http://bob:{TOKEN}@{host}/me")
    assert _Handler.authorizations[-1] == "Basic " + base64.b64encode(f"bob:{TOKEN}".encode()).decode()
    assert TOKEN not in json.dumps([out, connection])

    # A failed call with a password: the message names the status, never the password.
    out, connection = call(engine, workspace, "Denied", url=f"{server}/status/401", username="alice",
                           password=SECRET)
    assert connection["status"] == "error" and "HTTP 401" in connection["message"]
    stored = json.dumps([connection, out], ensure_ascii=False)
    assert SECRET not in stored


def test_5xx_is_retried_then_succeeds(engine, workspace, server):
    out, connection = call(engine, workspace, "Flaky", url=f"{server}/flaky/k1/2", retry_count=3, retry_delay=0.05)
    assert connection["status"] == "success", connection["message"]
    assert out["out"]["json"]["count"]["k1"] == 3, "two 503 answers, then the third attempt succeeded"

    out, connection = call(engine, workspace, "Too flaky", url=f"{server}/flaky/k2/5", retry_count=1,
                           retry_delay=0.05)
    assert connection["status"] == "error"
    assert "HTTP 503 after 2 attempts" in connection["message"], connection["message"]


def test_connection_refused_and_read_timeout_are_clear_errors(engine, workspace, server):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    out, connection = call(engine, workspace, "Refused", url=f"http://127.0.0.1:{port}/x", retry_count=1,
                           retry_delay=0.05)
    assert connection["status"] == "error"
    assert f"REST request GET http://127.0.0.1:{port}/x failed (after 2 attempts): connection refused" \
        in connection["message"], connection["message"]
    assert "DependencyFailedError" not in out["failed"] and "connection refused" in out["failed"]

    out, connection = call(engine, workspace, "Slow", url=f"{server}/slow", read_timeout=0.3, connect_timeout=5)
    assert connection["status"] == "error"
    assert "timed out" in connection["message"], connection["message"]


def test_unknown_parameter_is_refused_before_running(engine, workspace, server):
    record, tree = run_flow(engine, workspace, "Typo", f"""
        import flow_api
        def handler(system, this, inputs):
            try:
                this.connect('REST', url='{server}/x', expected_status=200)
            except flow_api.EngineException as exc:
                return this.set_output(failed=type(exc).__name__ + ': ' + str(exc))
    """)
    assert "expected_status" in record["outputs"]["failed"], record["outputs"]


def test_authorization_does_not_follow_a_redirect_to_another_host(engine, workspace, server):
    port = server.rsplit(":", 1)[1]
    # The same server under another name (localhost vs 127.0.0.1) counts as another host.
    out, connection = call(engine, workspace, "Hop", url=f"{server}/redirect-to?to=http://localhost:{port}/landed",
                           bearer_token=TOKEN)
    assert connection["status"] == "success", connection["message"]
    assert out["out"]["json"]["path"] == "/landed"
    assert _Handler.authorizations[-2:] == [f"Bearer {TOKEN}", None]


@pytest.fixture
def https_server(tmp_path):
    """An HTTPS server with a self-signed certificate (no CA on this machine trusts it)."""
    import shutil
    import ssl
    import subprocess

    openssl = shutil.which("openssl")
    if not openssl:
        pytest.skip("openssl is not on PATH to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    with serving_http(_Handler, lambda sock: context.wrap_socket(sock, server_side=True)) as httpd:
        yield f"https://127.0.0.1:{httpd.server_address[1]}"


def test_verify_ssl(engine, workspace, https_server):
    out, connection = call(engine, workspace, "Checked", url=f"{https_server}/tls")
    assert connection["status"] == "error"
    assert "CERTIFICATE_VERIFY_FAILED" in connection["message"] or "certificate verify failed" in connection["message"]

    out, connection = call(engine, workspace, "Unchecked", url=f"{https_server}/tls", verify_ssl=False)
    assert connection["status"] == "success", connection["message"]
    assert out["out"]["json"]["path"] == "/tls"
