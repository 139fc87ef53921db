"""The REST connector: one HTTP request (with optional retries) through the standard library.

``this.connect('REST', url=..., method='GET', params={...}, headers={...}, json=..., data=...)``
outputs ``status_code``, ``headers``, ``text``, ``url`` (the final one, after redirects) and,
for JSON responses, ``json``. A status outside ``expected_status_code`` (default 200–204) ends
the connection in error, naming the status and the start of the body."""

from __future__ import annotations

import base64
import http.client
import json as json_module
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request

from flow_api import ConnectorError

from . import register
from .spec import MASK, Param

DEFAULT_EXPECTED = tuple(range(200, 205))
REDIRECTS = (301, 302, 303, 307, 308)
DEFAULT_TIMEOUT_S = 30.0
BODY_EXCERPT = 200
MAX_RETRY_DELAY_S = 60.0


def rest(this, params: dict) -> dict:
    url, basic = _url(params)
    method = str(params.get("method") or "GET").upper()
    headers = {str(k): str(v) for k, v in (params.get("headers") or {}).items()}
    body = _body(params, headers)
    _auth(params, basic, headers)
    expected = _expected(params)
    connect_timeout, read_timeout = _timeouts(params)
    opener = _opener(params, read_timeout)
    shown = _shown(url)
    retries = max(0, int(params.get("retry_count") or 0))
    delay = float(params.get("retry_delay", 1.0))
    for attempt in range(retries + 1):
        last = attempt == retries
        try:
            outputs = _send(opener, urllib.request.Request(url, data=body, method=method, headers=headers),
                            connect_timeout)
        except _Unreachable as exc:
            if last:
                tries = f" (after {attempt + 1} attempts)" if attempt else ""
                raise ConnectorError(f"REST request {method} {shown} failed{tries}: {exc}. "
                                     "Check the URL, that the server runs, and the timeouts") from None
        else:
            if outputs["status_code"] < 500 or last:
                break
        # Backoff: retry_delay, then twice that, ... so a restarting server gets time to come back.
        time.sleep(min(delay * 2 ** attempt, MAX_RETRY_DELAY_S))
    status = outputs["status_code"]
    if expected is not None and status not in expected:
        excerpt = " ".join(outputs["text"][:BODY_EXCERPT].split())
        wanted = "200–204" if expected == DEFAULT_EXPECTED else ", ".join(map(str, sorted(expected)))
        tries = f" after {retries + 1} attempts" if retries and status >= 500 else ""
        raise ConnectorError(f"REST request {method} {shown} answered HTTP {status}{tries} (expected {wanted}; "
                             f"set expected_status_code to accept it): {excerpt}")
    return outputs


class _Unreachable(Exception):
    """No HTTP answer at all: refused, unknown host, timeout, TLS failure."""


def _send(opener, request, connect_timeout: float) -> dict:
    try:
        response = opener.open(request, timeout=connect_timeout)
    except urllib.error.HTTPError as exc:  # an HTTP answer, just not a 2xx: the caller decides
        response = exc
    except urllib.error.URLError as exc:
        raise _Unreachable(_reason(exc.reason)) from None
    except (OSError, http.client.HTTPException) as exc:
        raise _Unreachable(_reason(exc)) from None
    try:
        with response:
            raw = response.read()
    except (OSError, http.client.HTTPException) as exc:
        raise _Unreachable(f"reading the answer failed: {_reason(exc)}") from None
    message = response.headers  # an email.message.Message, for an HTTPError too
    try:
        text = raw.decode(message.get_content_charset() or "utf-8", errors="replace")
    except LookupError:  # a charset Python does not know
        text = raw.decode("utf-8", errors="replace")
    outputs = {"status_code": response.code, "headers": dict(message.items()), "text": text,
               "url": _shown(response.geturl() or request.full_url)}
    if "json" in (message.get("Content-Type") or ""):
        try:
            outputs["json"] = json_module.loads(text)
        except ValueError:
            pass
    return outputs


def _reason(exc) -> str:
    if isinstance(exc, (socket.timeout, TimeoutError)):
        return "timed out"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(getattr(exc, "strerror", None) or exc)


def _url(params: dict) -> tuple[str, "tuple[str, str] | None"]:
    """The request URL with the query string, and credentials found inside it (which urllib
    cannot send from there: they become a basic auth header)."""
    url = params.get("url")
    if not url:
        if not params.get("host"):
            raise ConnectorError("the REST connector needs url=... (or host=... with scheme, port, path)")
        netloc = str(params["host"]) + (f":{params['port']}" if params.get("port") else "")
        path = str(params.get("path") or "")
        url = f"{params.get('scheme') or 'https'}://{netloc}{'' if not path or path.startswith('/') else '/'}{path}"
    parts = urllib.parse.urlsplit(str(url))
    if parts.scheme not in ("http", "https"):
        raise ConnectorError(f"the REST connector needs an http:// or https:// URL, not {_shown(str(url))!r}")
    basic = None
    if parts.username is not None:
        basic = (urllib.parse.unquote(parts.username), urllib.parse.unquote(parts.password or ""))
        parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
    query = params.get("params", params.get("query"))
    if query:
        extra = urllib.parse.urlencode(query, doseq=True) if not isinstance(query, str) else query.lstrip("?")
        parts = parts._replace(query=f"{parts.query}&{extra}" if parts.query else extra)
    return urllib.parse.urlunsplit(parts), basic


def _shown(url: str) -> str:
    """``url`` as it may appear in messages and outputs: a password or token inside it masked."""
    parts = urllib.parse.urlsplit(url)
    if parts.username is None:
        return url
    user = f"{parts.username}:{MASK}" if parts.password is not None else MASK
    return urllib.parse.urlunsplit(parts._replace(netloc=f"{user}@{parts.netloc.rpartition('@')[2]}"))


def _body(params: dict, headers: dict) -> bytes | None:
    lower = {k.lower() for k in headers}
    if params.get("json") is not None:
        if "content-type" not in lower:
            headers["Content-Type"] = "application/json"
        return json_module.dumps(params["json"]).encode()
    data = params.get("data")
    if data is None:
        return None
    if isinstance(data, (dict, list)):  # a form, as browsers post it
        if "content-type" not in lower:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        return urllib.parse.urlencode(data, doseq=True).encode()
    return data if isinstance(data, bytes) else str(data).encode()


def _auth(params: dict, basic, headers: dict) -> None:
    if any(k.lower() == "authorization" for k in headers):
        return  # the caller's own header wins
    token = params.get("bearer_token") or params.get("token")
    if token:
        headers["Authorization"] = f"Bearer {token}"
        return
    if params.get("username") is not None or params.get("password") is not None:
        basic = (str(params.get("username") or ""), str(params.get("password") or ""))
    if basic:
        headers["Authorization"] = "Basic " + base64.b64encode(f"{basic[0]}:{basic[1]}".encode()).decode()


def _expected(params: dict) -> "tuple[int, ...] | None":
    """The statuses that count as success; None: any (``allow_error_status=True``)."""
    if params.get("allow_error_status"):
        return None
    value = params.get("expected_status_code")
    if value is None:
        # Not following redirects means the caller wants to see them.
        return DEFAULT_EXPECTED if _follow(params) else DEFAULT_EXPECTED + REDIRECTS
    values = value if isinstance(value, (list, tuple)) else [value]
    try:
        return tuple(int(v) for v in values)
    except (TypeError, ValueError):
        raise ConnectorError(f"expected_status_code must be a status or a list of them, not {value!r}") from None


def _follow(params: dict) -> bool:
    return params.get("allow_redirects", True) not in (False, 0, "false", "False", "no")


def _timeouts(params: dict) -> tuple[float, float]:
    default = float(params.get("timeout") or DEFAULT_TIMEOUT_S)
    connect = float(params.get("connect_timeout") or default)
    read = float(params.get("read_timeout") or default)
    return connect, read


def _opener(params: dict, read_timeout: float) -> urllib.request.OpenerDirector:
    context = ssl.create_default_context()
    if params.get("verify_ssl", True) in (False, 0, "false", "False", "no"):
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    redirect = _Redirects() if _follow(params) else _NoRedirects()
    return urllib.request.build_opener(_HTTPHandler(read_timeout), _HTTPSHandler(read_timeout, context), redirect)


class _ReadTimeout:
    """urllib has one timeout for connecting and reading: connect with it (the connect
    timeout), then switch the socket to the read timeout."""

    def __init__(self, *args, read_timeout: float, **kwargs):
        super().__init__(*args, **kwargs)
        self.read_timeout = read_timeout

    def connect(self) -> None:
        super().connect()
        self.sock.settimeout(self.read_timeout)


class _HTTPConnection(_ReadTimeout, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_ReadTimeout, http.client.HTTPSConnection):
    pass


class _HTTPHandler(urllib.request.HTTPHandler):
    def __init__(self, read_timeout: float):
        super().__init__()
        self.read_timeout = read_timeout

    def http_open(self, req):
        return self.do_open(_HTTPConnection, req, read_timeout=self.read_timeout)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def __init__(self, read_timeout: float, context: ssl.SSLContext):
        super().__init__(context=context)
        self.read_timeout = read_timeout

    def https_open(self, req):
        return self.do_open(_HTTPSConnection, req, context=self._context, read_timeout=self.read_timeout)


class _Redirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects, but never carries the Authorization header to another host."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None and urllib.parse.urlsplit(newurl).netloc != urllib.parse.urlsplit(req.full_url).netloc:
            new.headers = {k: v for k, v in new.headers.items() if k.lower() != "authorization"}
            new.unredirected_hdrs = {k: v for k, v in new.unredirected_hdrs.items() if k.lower() != "authorization"}
        return new


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # urllib then raises HTTPError with the 3xx: the answer itself


PARAMS = (
    Param("url", doc="the full URL (http:// or https://); or give scheme, host, port and path"),
    Param("scheme", doc="http or https (default https) when no url is given"),
    Param("host", doc="the server's name or address when no url is given"),
    Param("port", doc="the server's port when no url is given"),
    Param("path", doc="the path on the server when no url is given"),
    Param("method", doc="GET (default), POST, PUT, PATCH, DELETE, HEAD, ..."),
    Param("headers", doc="request headers, a dict"),
    Param("params", aliases=("query",), doc="the query string: a dict (or list of pairs) added to the URL"),
    Param("json", doc="a JSON body (sets Content-Type: application/json)"),
    Param("data", doc="a body: text, or a dict sent as a form"),
    Param("expected_status_code", doc="a status or a list of them that count as success (default 200–204)"),
    Param("allow_error_status", doc="True: any status counts as success (the older way)"),
    Param("allow_redirects", doc="follow redirects (default True); False: a 3xx is the answer"),
    Param("connect_timeout", doc="seconds to wait for the connection (default: timeout)"),
    Param("read_timeout", aliases=("timeout",), doc="seconds to wait for the answer (default 30)"),
    Param("verify_ssl", doc="check the server's TLS certificate (default True)"),
    Param("username", doc="basic auth user name"),
    Param("password", secret=True, doc="basic auth password"),
    Param("token", aliases=("bearer_token",), secret=True, doc="a bearer token (Authorization: Bearer ...)"),
    Param("retry_count", doc="retries on 5xx answers and connection errors (default 0)"),
    Param("retry_delay", doc="seconds before the first retry, doubled for each next one (default 1)"),
)

def _repeatable(params: dict) -> bool:
    """GET, HEAD and OPTIONS do not act (RFC 9110 safe methods): an interrupted one may be
    sent again on resume. Any other may have acted and is not repeated."""
    return str(params.get("method") or "GET").upper() in ("GET", "HEAD", "OPTIONS")


rest.repeatable = _repeatable  # see ConnectorSpec.repeatable
register("REST", rest, params=PARAMS, one_of=(("url", "host"),),
         doc="One HTTP request; outputs status_code, headers, text, url and json (for JSON answers).")
