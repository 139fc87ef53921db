"""The webhook HTTP endpoint: an ASGI app (Starlette) in front of one ``Engine``, of which it
is a client like the CLI: it submits an execution per call and, for a synchronous call, waits
for its end. Nothing here changes how the engine runs; ``Engine.submit`` calls arriving
together already share one commit (the dispatcher's group commit).

``…/api/latest/webhook/<name>/call[/<sub path>]``, any method:
- unknown or disabled webhook → 404; a body over the limit → 413 (before it is read whole);
  a body declared JSON that is not → 400 with the reason; wrong or missing key → 401;
  nothing starts in these cases;
- ``async=1`` → 200 ``{"id": N}`` once the execution is committed;
- otherwise, when it ends: 200 with its outputs as JSON (or, when the flow set the output
  ``webhook_html_response``, that text as HTML); an error or cancel → 500 with
  ``{"id", "status", "message"}``."""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from ..errors import FlowdeskError
from .calls import BadRequest, parse_call
from .ends import Ends
from .records import URL_PREFIX, RecordCache, WebhookError

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024
HTML_OUTPUT = "webhook_html_response"
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
# Threads in Engine.submit or a store read at once (a synchronous call waits for its end on the
# event loop, without a thread: see ends.py).
MAX_THREADS = 64


def _json(status: int, data: Any, execution_id: int | None = None) -> Response:
    headers = {"X-Flowdesk-Execution": str(execution_id)} if execution_id is not None else None
    body = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
    return Response(body, status_code=status, media_type="application/json", headers=headers)


class WebhookApp:
    def __init__(self, engine, *, max_body: int = MAX_BODY, max_threads: int = MAX_THREADS):
        self.engine = engine
        self.workspace = engine.workspace
        self.max_body = max_body
        self._max_threads = max_threads
        self._limiter: anyio.CapacityLimiter | None = None
        self._records = RecordCache(self.workspace)
        self._ends: Ends | None = None

    def asgi(self) -> Starlette:
        routes = [Route(f"{URL_PREFIX}/{{name}}/call", self.call, methods=METHODS),
                  Route(f"{URL_PREFIX}/{{name}}/call/{{rest:path}}", self.call, methods=METHODS)]
        return Starlette(routes=routes)

    async def _in_thread(self, fn, *args):
        if self._limiter is None:  # made on the server's event loop (anyio needs one running)
            self._limiter = anyio.CapacityLimiter(self._max_threads)
        return await anyio.to_thread.run_sync(fn, *args, limiter=self._limiter)

    def _submit(self, flow: str, inputs: dict, name: str) -> int:
        return self.engine.submit(flow, inputs, name=f"webhook {name}")

    def close(self) -> None:
        if self._ends is not None:
            self._ends.close()

    async def call(self, request: Request) -> Response:
        name = request.path_params["name"]
        try:
            hook = self._records.get(name)
        except WebhookError as exc:
            log.error("%s", exc)
            hook = None
        if hook is None or not hook.enabled:
            return _json(404, {"error": f"there is no enabled webhook {name!r} here"})
        query = list(request.query_params.multi_items())
        given = [v for k, v in query if k == "key"]
        if given and not hook.accepts(given[-1]):  # refused before reading a body
            return _json(401, {"error": "wrong key for this webhook"})
        try:
            body = await self._read_body(request)
            call = parse_call(request.method, request.path_params.get("rest", ""), query,
                              [(k.decode("latin-1"), v.decode("latin-1")) for k, v in request.headers.raw], body)
        except BadRequest as exc:
            return _json(exc.status, {"error": str(exc)})
        except ClientDisconnect:
            return Response(status_code=400)
        if not hook.accepts(call.key):
            reason = "wrong key for this webhook" if call.key else \
                "this webhook needs its key: add ?key=... to the URL or \"key\" to a JSON body"
            return _json(401, {"error": reason})
        if self._ends is None:  # subscribed on first use: it needs the server's running loop
            self._ends = Ends(self.engine, asyncio.get_running_loop())
        try:
            execution_id = await self._in_thread(self._submit, hook.flow, call.inputs, name)
        except FlowdeskError as exc:
            log.error("webhook %s: %s", name, exc)
            return _json(500, {"error": f"webhook {name!r} could not start flow {hook.flow!r}: {exc}"})
        if call.is_async:
            return _json(200, {"id": execution_id}, execution_id)
        await self._ends.wait(execution_id)
        return self._answer(await self._in_thread(self.engine.store.execution, execution_id))

    async def _read_body(self, request: Request) -> bytes:
        length = request.headers.get("content-length")
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                raise BadRequest(400, f"Content-Length {length!r} is not a number") from None
            if declared > self.max_body:
                raise BadRequest(413, f"the body ({declared} bytes) is over the limit of {self.max_body} bytes")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > self.max_body:  # a chunked body says no length up front
                raise BadRequest(413, f"the body is over the limit of {self.max_body} bytes")
        return bytes(body)

    @staticmethod
    def _answer(record: dict) -> Response:
        execution_id = record["id"]
        if record["status"] != "success":
            return _json(500, {"id": execution_id, "status": record["status"], "message": record["message"]},
                         execution_id)
        outputs = record["outputs"] or {}
        if isinstance(outputs, dict) and isinstance(outputs.get(HTML_OUTPUT), str):
            return HTMLResponse(outputs[HTML_OUTPUT], headers={"X-Flowdesk-Execution": str(execution_id)})
        return _json(200, outputs, execution_id)


def create_app(engine, *, max_body: int = MAX_BODY) -> Starlette:
    return WebhookApp(engine, max_body=max_body).asgi()
