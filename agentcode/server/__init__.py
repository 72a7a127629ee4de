"""`agentcode serve`: the web app and its HTTP/WebSocket API, a client of the public API.

- `app`: the FastAPI app (`create_app`, `ServerConfig`): /v1 REST, the page at /, /docs.
- `stream`: the WebSocket that streams tokens and output as they come.
- `notebook`: a session's turns as the page shows them, and as a notebook.
- The open sessions, their limits and idle reaping: `agentcode.api.pool` (shared with MCP).
- `auth`, `limits`: the token, cookie and Origin checks; request size limits.
- `run`: binding, the printed URL, uvicorn and a graceful stop.

Needs the ``serve`` extra (FastAPI, uvicorn). The page's editor is CodeMirror, built from
``web/`` with npm into ``static/`` and shipped in the package: nothing comes from a CDN.
"""
