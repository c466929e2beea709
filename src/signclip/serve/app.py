"""The FastAPI application of `signclip serve`: the API (see routes.py), the search page, limits and errors.

`create_app(settings)` builds an app whose lifespan loads the models once and opens the database
connection pool (kept in `app.state.resources`). Every SignclipError becomes a JSON `{"detail": message}`
with a 4xx status chosen by its class (a 503 for what is not the client's fault), never a 500.
"""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Awaitable
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.routing import compile_path
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from signclip.errors import ConfigError, SignclipError
from signclip.serve.errors import error_body, error_status
from signclip.serve.resources import ModelRegistry, PoseExtractor, Resources, StorePool
from signclip.serve.routes import router
from signclip.serve.settings import ServeSettings

STATIC_DIR = Path(__file__).parent / "static"
SETTINGS_ENV = "SIGNCLIP_SERVE_SETTINGS"


class CloseForms:
    """ASGI middleware closing the multipart form a route parsed (`request.state.form`, whose uploads may be
    temporary files) once the request is answered or has failed. (Plain ASGI: Starlette's `@app.middleware`
    would pass every request and response through extra streams and a task.)"""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.app(scope, receive, send)
        finally:
            form = scope.get("state", {}).get("form")
            if form is not None:
                await form.close()


class BodySizeLimit:
    """ASGI middleware refusing request bodies over `max_bytes` with a 413: by Content-Length before reading,
    or, for a body sent without one, as soon as it grows past the limit. Then the app reads a disconnect,
    and whatever it answers or raises because of the cut-off body is dropped."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def refusal(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        """Answer the 413 (a response sent as ASGI app)."""
        detail = f"the request body is over the {self.max_bytes}-byte limit (max_request_bytes)"
        return JSONResponse({"detail": detail}, status_code=413)(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self.refusal(scope, receive, send)
            return
        received, refused, started = 0, False, False

        async def limited_receive() -> Message:
            nonlocal received, refused
            if refused:
                return {"type": "http.disconnect"}
            incoming = await receive()
            if incoming["type"] == "http.request":
                received += len(incoming.get("body", b""))
                if received > self.max_bytes:
                    refused = True
                    if not started:
                        await self.refusal(scope, receive, send)
                    return {"type": "http.disconnect"}
            return incoming

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refused:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, guarded_send)
        except Exception:
            if not refused:
                raise


def load_models(settings: ServeSettings) -> ModelRegistry:
    """Load (and fingerprint) the settings' models; ModelFileError names a model file that cannot be read."""
    from signclip.model.hub import load_model

    models = ModelRegistry.load(settings.model_specs(), load_model)
    for served in models.models:
        _ = served.known_fingerprint  # hashed once now (when not recorded in its directory), not on a search
    return models


def open_resources(settings: ServeSettings, models: ModelRegistry | None = None) -> Resources:
    """Open the database pool, load the models unless given and start their batching (blocking; once per
    process at start-up)."""
    stores = StorePool(
        settings.database_url or os.environ.get("DATABASE_URL") or None,
        settings.home,
        settings.store_connections,
        settings.ef_search,
    )
    try:
        models = models or load_models(settings)
    except BaseException:
        stores.close()
        raise
    for served in models.models:
        served.start_batching(settings.batching)
    return Resources(models=models, stores=stores, extractor=PoseExtractor())


def create_app(settings: ServeSettings | None = None, models: ModelRegistry | None = None) -> FastAPI:
    """Build the app: API routes, the search page at `/`, limits, CORS and error handlers.

    The database is opened, and the models loaded unless `models` are given (already loaded and
    checked), when the app starts (its lifespan), not here.
    """
    settings = settings or ServeSettings()
    settings.validate()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.resources = await anyio.to_thread.run_sync(open_resources, settings, models)
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(app.state.resources.close)

    app = FastAPI(
        title="signclip",
        summary="Embed sign language poses, videos and texts (SignCLIP) and search indexed datasets.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.include_router(router)

    @app.exception_handler(SignclipError)
    async def signclip_error(request: Request, error: SignclipError) -> JSONResponse:
        return JSONResponse(error_body(error), status_code=error_status(error))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        parts = [f"{'.'.join(str(p) for p in item['loc'])}: {item['msg']}" for item in error.errors()]
        return JSONResponse({"detail": "; ".join(parts) or "invalid request"}, status_code=422)

    @app.exception_handler(405)
    async def method_not_allowed(request: Request, error: Exception) -> JSONResponse:
        methods = allowed_methods(app, request.url.path)
        headers = {"Allow": ", ".join(methods)}
        detail = f"{request.method} is not allowed here; use {' or '.join(methods)}"
        return JSONResponse({"detail": detail}, 405, headers)

    @app.exception_handler(psycopg.OperationalError)
    async def database_down(request: Request, error: psycopg.OperationalError) -> JSONResponse:
        return JSONResponse({"detail": f"the database is not reachable: {error}"}, status_code=503)

    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC_DIR / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    app.add_middleware(CloseForms)
    app.add_middleware(GZipMiddleware, minimum_size=2048)
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-API-Key", "Authorization"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.limits.max_request_bytes)
    return app


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method that the API documents at `path` (Starlette's 405 names only the first matching route's),
    sorted; GET for a path outside the API (the page, its static files)."""
    methods: set[str] = set()
    for template, operations in app.openapi()["paths"].items():
        if compile_path(template)[0].match(path):
            methods |= {method.upper() for method in operations}
    return sorted(methods) or ["GET"]


def create_app_from_environment() -> FastAPI:
    """The uvicorn factory for `signclip serve --workers N`: settings from $SIGNCLIP_SERVE_SETTINGS (JSON)."""
    text = os.environ.get(SETTINGS_ENV)
    if not text:
        raise ConfigError(f"${SETTINGS_ENV} is not set; start the server with `signclip serve`")
    return create_app(ServeSettings.from_dict(json.loads(text), source=f"${SETTINGS_ENV}"))
