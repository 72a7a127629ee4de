"""The FastAPI app of `agentcode serve`: the /v1 API, the WebSocket stream and the page at /.

`create_app(config)` builds it; nothing here starts a server (see `agentcode.server.run`).
The app is a client of the public API (`agentcode.Session`), like the CLI: results are the
``to_dict()`` of `Execution` and `Generation`, the same JSON ``run --json`` and ``gen --json``
print. Failures are ``{"detail": message, "exit_code": n}`` with the CLI's exit codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from importlib.resources import files
from typing import TYPE_CHECKING, Annotated, Any

from anyio import to_thread
from fastapi import APIRouter, Body, FastAPI, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from agentcode.api.pool import SessionPool
from agentcode.api.schemas import ExecutionSchema, GenerationSchema, HistoryEntrySchema
from agentcode.errors import AgentcodeError, SandboxError
from agentcode.server import stream
from agentcode.server.auth import Gate
from agentcode.server.errors import error_body, http_status, json_safe
from agentcode.server.fast import FastExecute, execute_body
from agentcode.server.limits import BodyLimit
from agentcode.server.notebook import Turns, to_notebook
from agentcode.server.schemas import (
    ErrorBody,
    ExecuteRequest,
    FileList,
    GenerateRequest,
    Health,
    SessionCreated,
    SessionInfo,
    SessionRequest,
    client_model,
)

if TYPE_CHECKING:
    from agentcode import Settings

STATIC = files("agentcode.server") / "static"


@dataclass(slots=True)
class ServerConfig:
    """How the server runs; `agentcode serve`'s flags end up here."""

    settings: Settings
    token: str  # "" turns auth off (allowed on loopback only; see agentcode.server.run)
    max_sessions: int = 32
    idle_seconds: float = 900.0
    request_bytes: int = 1024 * 1024
    upload_bytes: int = 10 * 1024 * 1024
    grace_seconds: float = 10.0
    sandboxes: tuple[str, ...] = field(default=("local", "agentcore"))
    warm: bool = False  # load the first local model at start-up, not at the first request
    header_seconds: float = 10.0  # a connection's whole request head must arrive within this
    max_connections: int = 1000  # open at once (kept below the open-file limit)
    page_linger_seconds: float = 60.0  # a page's session, once its WebSocket closed


def create_app(config: ServerConfig) -> FastAPI:
    from agentcode import __version__

    pool = SessionPool(config.settings, extra=Turns, max_sessions=config.max_sessions,
                       idle_seconds=config.idle_seconds, sandboxes=config.sandboxes,
                       linger_seconds=config.page_linger_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        reaper = asyncio.create_task(pool.reap_forever())
        pool.keep_spare()
        warming = asyncio.create_task(to_thread.run_sync(_warm_model, config.settings)) \
            if config.warm else None
        try:
            yield
        finally:
            reaper.cancel()
            if warming is not None:
                warming.cancel()
            await pool.close_all(config.grace_seconds)

    app = FastAPI(title="agentcode", version=__version__, lifespan=lifespan, docs_url=None,
                  redoc_url=None, description="Turn a sentence into Python and run it safely.",
                  **_no_telemetry())
    app.state.pool = pool
    app.state.config = config
    _install_errors(app)
    app.add_middleware(FastExecute, pool=pool)  # inside the gate and the body limit
    app.add_middleware(BodyLimit, request_bytes=config.request_bytes,
                       upload_bytes=config.upload_bytes)
    app.add_middleware(Gate, token=config.token, page_headers=_PAGE_HEADERS)  # outermost

    @app.get("/health", response_model=Health, tags=["server"])
    async def health() -> Health:
        """Whether the server is up (no token needed; says nothing private)."""
        return Health(status="ok", version=__version__)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(str(STATIC / "index.html"), headers=_PAGE_HEADERS)

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json", title="agentcode API",
            swagger_js_url="/static/swagger/swagger-ui-bundle.js",
            swagger_css_url="/static/swagger/swagger-ui.css",
            swagger_favicon_url="/static/favicon.svg",
        )

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.include_router(_api(pool, config))
    app.add_api_websocket_route("/v1/sessions/{session_id}/stream", stream.endpoint)
    return app


# FastAPI's OpenTelemetry spans, metrics and logs, off: a request's path holds its session's
# id, which is the capability to use the session, and a collector (one the environment names,
# FASTAPI_OTEL_AUTO_CONFIGURE) is no place for it; and on, FastAPI looks up the providers in
# os.environ on every request (~7% of the event loop's time under 20 clients).
def _no_telemetry() -> dict[str, Any]:
    import inspect

    if "telemetry" not in inspect.signature(FastAPI.__init__).parameters:
        return {}  # a FastAPI from before it had any
    return {"telemetry": {"tracing": False, "metrics": False, "logs": False,
                          "operation_spans": False, "auto_configure": False}}


_ERRORS: dict[str, Any] = {
    "responses": {
        400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 404: {"model": ErrorBody},
        413: {"model": ErrorBody}, 503: {"model": ErrorBody}, 504: {"model": ErrorBody},
    }
}


def _api(pool: stream.Pool, config: ServerConfig) -> APIRouter:
    api = APIRouter(prefix="/v1", **_ERRORS)

    @api.post("/sessions", status_code=201, response_model=SessionCreated, tags=["sessions"])
    async def create_session(http: Request, request: SessionRequest | None = None
                             ) -> SessionCreated:
        """Open a session: one conversation and one stateful sandbox (started on first use)."""
        body = request or SessionRequest()
        session = await pool.create(model=client_model(body.model), sandbox=body.sandbox)
        # A browser's (it sends Origin): the page's, which lives while its WebSocket does, and
        # a little longer for a reload to reattach; one per page load must not fill the pool.
        pool.get(session.id).lingers = "origin" in http.headers
        return SessionCreated(id=session.id)

    @api.delete("/sessions/{session_id}", status_code=204, tags=["sessions"])
    async def delete_session(session_id: str) -> Response:
        """Close a session: its sandbox (variables, files) is gone."""
        await pool.delete(session_id)
        return Response(status_code=204)

    @api.post("/sessions/{session_id}/execute", response_model=ExecutionSchema,
              tags=["sessions"])
    async def execute(session_id: str, request: ExecuteRequest) -> Response:
        """Run code in the session; the body is the Execution, as ``run --json`` prints it."""
        # Well-formed calls are answered before routing (agentcode.server.fast), and this only
        # sees the ones FastAPI words the error of; the response model is the OpenAPI
        # document's (validating the answer against it cost every request ~1 ms).
        return Response(await execute_body(pool, session_id, request),
                        media_type="application/json")

    @api.post("/sessions/{session_id}/generate", response_model=GenerationSchema,
              tags=["sessions"])
    async def generate(session_id: str, request: GenerateRequest) -> dict[str, Any]:
        """The next turn of the session's conversation: the Generation, as ``gen --json``."""
        turns = pool.get(session_id).extra
        body = await pool.run(session_id, lambda s: stream.perform(s, request, turns))
        return {k: v for k, v in body.items() if k != "label"}

    @api.get("/sessions/{session_id}", response_model=SessionInfo, tags=["sessions"])
    async def session_info(session_id: str) -> SessionInfo:
        """An open session: its model chain, the files put in it, and its turns so far (each
        generation and run result, as the stream sent it; the oldest go past a bound)."""
        entry = pool.get(session_id)
        return SessionInfo(id=session_id, models=entry.session.model_names,
                           inputs=sorted(entry.session.input_files()), turns=entry.extra.list())

    @api.put("/sessions/{session_id}/model", response_model=SessionInfo, tags=["sessions"])
    async def change_model(session_id: str, request: SessionRequest) -> SessionInfo:
        """Ask another model from the next request on (``model`` null: the server's); the
        conversation, variables and files stay."""
        model = client_model(request.model)
        await pool.run(session_id, lambda s: s.use_model(model) if model
                       else setattr(s, "model", None))
        return await session_info(session_id)

    @api.get("/sessions/{session_id}/notebook", tags=["sessions"], response_class=Response)
    async def notebook(session_id: str) -> Response:
        """The session as a Jupyter notebook: requests as text, runs with their outputs."""
        book = to_notebook(pool.get(session_id).extra.list(),
                           title=f"agentcode session {session_id[:8]}")
        return Response(json.dumps(book, indent=1), media_type="application/x-ipynb+json",
                        headers={"Content-Disposition": _attachment(
                            f"agentcode-{session_id[:8]}.ipynb")})

    @api.get("/sessions/{session_id}/history", response_model=list[HistoryEntrySchema],
             tags=["sessions"])
    async def session_history(session_id: str) -> list[dict[str, Any]]:
        """This session's recorded generations and runs, oldest first."""
        entries = await pool.run(session_id, lambda s: s.entries())
        return [entry.to_dict() for entry in entries]

    @api.put("/sessions/{session_id}/files/{name:path}", response_model=FileList,
             tags=["files"])
    async def put_file(session_id: str, name: str,
                       data: Annotated[bytes, Body(media_type="application/octet-stream")]
                       ) -> FileList:
        """Put a file (the raw body) in the session's work dir; returns every file there."""
        def write(session: Any) -> list[str]:
            session.write_files({name: data})
            return list(session.sandbox.list_files())

        return FileList(files=await pool.run(session_id, write))

    @api.get("/sessions/{session_id}/files", response_model=FileList, tags=["files"])
    async def list_files(session_id: str) -> FileList:
        """The files in the session's work dir (uploads, and what the code wrote)."""
        return FileList(files=await pool.run(session_id, lambda s: s.sandbox.list_files()))

    @api.get("/sessions/{session_id}/files/{name:path}", tags=["files"],
             response_class=Response)
    async def get_file(session_id: str, name: str) -> Response:
        """One file of the session's work dir, as bytes."""
        from agentcode.sandbox.base import check_relative

        path = check_relative(name)
        try:
            data = await pool.run(session_id, lambda s: s.sandbox.read_file(path))
        except SandboxError as exc:  # no such file, a link the code planted, a directory
            return JSONResponse({"detail": str(exc), "exit_code": 2}, status_code=404)
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": _attachment(path)})

    @api.get("/history", response_model=list[HistoryEntrySchema], tags=["history"])
    async def history(q: str | None = None,
                      limit: Annotated[int, Query(ge=1, le=1000)] = 20) -> list[dict[str, Any]]:
        """Recorded generations and runs, newest first; ``q`` is a full-text search."""
        return await to_thread.run_sync(_history, config.settings, q, limit)

    @api.get("/models", tags=["models"])
    async def models() -> dict[str, Any]:
        """The configured model chain and the names the server accepts."""
        return await to_thread.run_sync(_models, config.settings)

    return api


def _history(settings: Settings, query: str | None, limit: int) -> list[dict[str, Any]]:
    from agentcode.store import open_store

    with open_store(settings=settings) as store:
        found = store.search(query, limit=limit) if query else store.list(limit=limit)
    return [entry.to_dict() for entry in found]


def _models(settings: Settings) -> dict[str, Any]:
    from agentcode.models.bedrock import DEFAULT_CHAIN
    from agentcode.models.registry import names_help

    names = ["local"]
    with contextlib.suppress(ImportError):
        from agentcode.models.local import LOCAL_MODELS

        names += [f"local:{name}" for name in LOCAL_MODELS]
    names += ["bedrock", *(f"bedrock:{model_id}" for model_id in DEFAULT_CHAIN)]
    return {"configured": list(settings.model), "names": names, "syntax": names_help()}


def _warm_model(settings: Settings) -> None:
    """Start the first configured local model now, so the first request does not wait for it.

    A model that cannot load is not fatal here: the requests that need it will say why.
    """
    import sys

    from agentcode.models.registry import candidates_for

    try:
        for candidate in candidates_for(None, settings):
            if candidate.group == "local":
                start = getattr(candidate.load(), "start", None)
                if callable(start):
                    start()
                return
    except AgentcodeError as exc:
        sys.stderr.write(f"agentcode: warning: the model could not be loaded ahead: {exc}\n")


def _attachment(name: str) -> str:
    from urllib.parse import quote

    return f"attachment; filename*=UTF-8''{quote(name.rsplit('/', 1)[-1])}"


# The page's assets all come from this server; user HTML (a DataFrame) goes in a sandboxed
# iframe, and no script may come from anywhere else.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "style-src 'self' 'unsafe-inline'; frame-src 'self'; connect-src 'self'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


def _install_errors(app: FastAPI) -> None:
    async def agentcode_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, AgentcodeError)
        return JSONResponse(error_body(exc), status_code=http_status(exc))

    async def invalid_request(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return JSONResponse({"detail": json_safe(jsonable_encoder(exc.errors()))},
                            status_code=422)

    app.add_exception_handler(AgentcodeError, agentcode_error)
    app.add_exception_handler(RequestValidationError, invalid_request)
