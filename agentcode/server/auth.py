"""Who may talk to the server: the token, the cookie the page gets, and the Origin check.

A request is let in when it carries the token as ``Authorization: Bearer TOKEN`` or in the
``agentcode_token`` cookie, which the page sets when it is opened as ``/?token=TOKEN`` (the URL
``agentcode serve`` prints). Every comparison is constant-time. A request with an ``Origin``
header (what browsers send on cross-site fetches and on every WebSocket) must come from the
server's own origin, so another web site open in the same browser cannot use the cookie.
"""

from __future__ import annotations

import hmac
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection

COOKIE = "agentcode_token"


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
