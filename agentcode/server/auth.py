"""Who may talk to the server: the token, the cookie the page gets, and the Origin check.

A request is let in when it carries the token as ``Authorization: Bearer TOKEN`` or in the
``agentcode_token`` cookie, which the page sets when it is opened as ``/?token=TOKEN`` (the URL
``agentcode serve`` prints). Every comparison is constant-time. A request with an ``Origin``
header (what browsers send on cross-site fetches and on every WebSocket) must come from the
server's own origin, so another web site open in the same browser cannot use the cookie.

Without a token (``--token ''``, loopback only) the ``Host`` header must name the loopback
interface too (``localhost``, ``127.x.x.x``, ``[::1]``): a page on ``attacker.example`` whose
name was re-bound to 127.0.0.1 sends ``Host: attacker.example`` (and the same Origin), and is
refused, so DNS rebinding cannot reach a server that has no token to ask for.
"""

from __future__ import annotations

import hmac
import ipaddress
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

COOKIE = "agentcode_token"
PUBLIC_PATHS = frozenset({"/health"})
POLICY_VIOLATION = 1008  # a WebSocket closed before its handshake is answered with HTTP 403


def token_matches(given: str | None, token: str) -> bool:
    if not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), token.encode("utf-8"))


def presented_token(conn: HTTPConnection) -> str | None:
    """The token the client sent (header first, then cookie), unchecked."""
    header = conn.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return conn.cookies.get(COOKIE)


def is_authorized(conn: HTTPConnection, token: str) -> bool:
    """Whether ``conn`` may use the server; an empty ``token`` means auth is off (loopback)."""
    return not token or token_matches(presented_token(conn), token)


def origin_allowed(conn: HTTPConnection) -> bool:
    """No Origin (not a browser), or the server's own: scheme-less host:port equal to Host."""
    origin = conn.headers.get("origin")
    if origin is None:
        return True
    host = conn.headers.get("host", "")
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and bool(parts.netloc) and parts.netloc == host


def loopback_host(host: str) -> bool:
    """Whether a Host header (``name[:port]``, ``[v6][:port]``) names the loopback interface."""
    if host.startswith("["):
        name, _, rest = host[1:].partition("]")
        if rest and not (rest.startswith(":") and rest[1:].isdigit()):
            return False
    else:
        name, _, port = host.partition(":")
        if port and not port.isdigit():
            return False
    if name.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def host_allowed(conn: HTTPConnection, token: str) -> bool:
    """With a token anyone may name the server as they reach it; without one, only loopback."""
    return bool(token) or loopback_host(conn.headers.get("host", ""))


HOST_REFUSED = ("this server has no token, so it answers only to a loopback Host "
                "(localhost, 127.0.0.1, [::1])")


class Gate:
    """The Origin and token checks in front of everything but /health, HTTP and WebSocket."""

    def __init__(self, app: ASGIApp, *, token: str, page_headers: dict[str, str]) -> None:
        self.app = app
        self.token = token
        self.page_headers = page_headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"] in PUBLIC_PATHS:
            await self.app(scope, receive, send)
            return
        conn = HTTPConnection(scope)
        if scope["type"] == "websocket":
            if (host_allowed(conn, self.token) and origin_allowed(conn)
                    and is_authorized(conn, self.token)):
                await self.app(scope, receive, send)
            else:
                await WebSocket(scope, receive, send).close(code=POLICY_VIOLATION)
            return
        response = self.refusal(conn)
        if response is None:
            await self.app(scope, receive, send)
        else:
            await response(scope, receive, send)

    def refusal(self, conn: HTTPConnection) -> Response | None:
        """The answer for a request that may not pass (None: let it through)."""
        if not host_allowed(conn, self.token):
            return JSONResponse({"detail": HOST_REFUSED, "exit_code": 2}, status_code=403)
        if not origin_allowed(conn):
            return JSONResponse({"detail": "cross-origin request refused", "exit_code": 2},
                                status_code=403)
        given = conn.query_params.get("token")
        page = conn.url.path == "/"
        if page and given is not None:
            if self.token and not token_matches(given, self.token):
                return HTMLResponse(DENIED, status_code=401, headers=self.page_headers)
            # Trade the token in the URL for a cookie, and drop it from the address bar.
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict",
                                secure=conn.url.scheme == "https")
            return response
        if is_authorized(conn, self.token):
            return None
        if page:
            return HTMLResponse(DENIED, status_code=401, headers=self.page_headers)
        return JSONResponse(
            {"detail": "missing or wrong token: send 'Authorization: Bearer TOKEN' (the token "
             "agentcode serve printed)", "exit_code": 2},
            status_code=401, headers={"WWW-Authenticate": "Bearer"})


DENIED = """<!doctype html><meta charset="utf-8"><title>agentcode</title>
<p>This page needs the server's token: open the URL <code>agentcode serve</code> printed
(it ends with <code>?token=...</code>).</p>"""
