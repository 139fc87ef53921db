"""The REST connector: one HTTP request with the standard library's client.

``this.connect('REST', url=..., method='GET', headers={...}, json=..., data=..., timeout=30)``
outputs ``status_code``, ``headers``, ``text`` and, for JSON responses, ``json``."""

from __future__ import annotations

import json as json_module
import urllib.error
import urllib.request

from flow_api import ConnectorError

from . import register


def rest(this, params: dict) -> dict:
    url = params.get("url")
    if not url:
        raise ConnectorError("the REST connector needs url=...")
    method = str(params.get("method", "GET")).upper()
    headers = dict(params.get("headers") or {})
    body = None
    if "json" in params:
        body = json_module.dumps(params["json"]).encode()
        headers.setdefault("Content-Type", "application/json")
    elif "data" in params:
        body = str(params["data"]).encode()
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=float(params.get("timeout", 30)))
    except urllib.error.HTTPError as exc:
        response = exc
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ConnectorError(f"REST request {method} {url} failed: {reason}") from None
    with response:
        text = response.read().decode("utf-8", errors="replace")
        outputs = {"status_code": response.status, "headers": dict(response.headers.items()), "text": text}
    if "json" in (outputs["headers"].get("Content-Type") or ""):
        try:
            outputs["json"] = json_module.loads(text)
        except ValueError:
            pass
    if outputs["status_code"] >= 400 and not params.get("allow_error_status"):
        raise ConnectorError(f"REST request {method} {url} answered HTTP {outputs['status_code']}: {text[:200]}")
    return outputs


register("REST", rest)
