"""Request plumbing shared by the endpoints: the per-request `Api` dependency (the process's resources and
settings, blocking work in worker threads under the time limit), JSON-or-multipart bodies, uploads within
the limits, OpenAPI request bodies, and the API key check."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, TypeVar

import anyio
from fastapi import Depends, Request
from fastapi.security import APIKeyHeader
from pydantic import BaseModel
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from signclip.errors import SignclipError
from signclip.serve import inputs
from signclip.serve.inputs import InvalidRequestError, LimitExceededError, UnsupportedMediaTypeError
from signclip.serve.resources import Resources, ServiceUnavailableError
from signclip.serve.settings import Limits, ServeSettings

T = TypeVar("T")
API_KEY_HEADER = APIKeyHeader(name="X-API-Key", auto_error=False, description="needed when the server has a key")
BINARY = {"type": "string", "format": "binary"}
FORM_TEXT = {"type": "string"}
MAX_FORM_FIELDS = 32


class NotAuthorizedError(SignclipError):
    """A data-changing request without the server's API key."""


@dataclass(frozen=True)
class Api:
    """What an endpoint shares with the others: the process's resources and settings (the `ApiDep` dependency)."""

    resources: Resources
    settings: ServeSettings

    @property
    def limits(self) -> Limits:
        """The request limits."""
        return self.settings.limits

    async def run(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(*args)` in a worker thread; ServiceUnavailableError past the request time limit.

        A thread cannot be stopped: past the limit it finishes in the background while the client gets the error.
        """
        timeout = self.limits.request_timeout_s
        try:
            with anyio.fail_after(timeout):
                return await anyio.to_thread.run_sync(partial(work, *args), abandon_on_cancel=True)
        except TimeoutError:
            raise ServiceUnavailableError(
                f"the request took longer than the {timeout:g} s limit (request_timeout_s); try a smaller request"
            ) from None

    async def with_store(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(store, *args)` in a worker thread with a Store lent for that thread's whole run.

        The Store is lent inside the thread (not by a request-scoped dependency) so that work abandoned
        past the time limit keeps its connection until it really ends, never sharing it with another request.
        """

        def lent() -> T:
            with self.resources.stores.store() as store:
                return work(store, *args)

        return await self.run(lent)


def api_of(request: Request) -> Api:
    """The `Api` of the app serving `request` (its lifespan created the resources)."""
    return Api(resources=request.app.state.resources, settings=request.app.state.settings)


ApiDep = Annotated[Api, Depends(api_of)]


def media_type(request: Request) -> str:
    """The request's content type, lower case, without parameters."""
    return request.headers.get("content-type", "").split(";", 1)[0].strip().lower()


async def read_request(
    request: Request,
    json_model: type[BaseModel],
    form_model: type[BaseModel],
    file_fields: tuple[str, ...],
    json_fields: tuple[str, ...] = (),
) -> tuple[Any, dict[str, list[UploadFile]]]:
    """Parse a JSON body into `json_model`, or a multipart form into `form_model` plus its files.

    Returns (parsed fields, uploaded files by field name). Files are taken only in `file_fields`;
    `json_fields` of a form hold JSON text. Problems raise errors naming the field.
    """
    kind = media_type(request)
    if kind in ("", "application/json") or kind.endswith("+json"):
        return inputs.parse_model(json_model, inputs.parse_json_body(await request.body())), {}
    if kind != "multipart/form-data":
        raise UnsupportedMediaTypeError(
            f"content type {kind!r} is not accepted here; send application/json or multipart/form-data"
        )
    limits: Limits = request.app.state.settings.limits
    try:
        form = await request.form(max_files=limits.max_poses, max_fields=MAX_FORM_FIELDS)
    except HTTPException as error:  # Starlette's 400 for a form over max_files / max_fields
        if "Too many" not in str(error.detail):
            raise
        raise LimitExceededError(
            f"the form holds too many parts ({error.detail}): at most {limits.max_poses} files (max_poses) "
            f"and {MAX_FORM_FIELDS} text fields"
        ) from None
    request.state.form = form  # closed (temporary files removed) by the app's middleware
    fields: dict[str, str] = {}
    files: dict[str, list[UploadFile]] = {}
    for name, value in form.multi_items():
        if isinstance(value, str):
            if name in fields:
                raise InvalidRequestError(f"{name}: given more than once")
            fields[name] = value
        elif name in file_fields:
            files.setdefault(name, []).append(value)
        else:
            raise InvalidRequestError(f"{name}: unexpected file field; send files as {' or '.join(file_fields)}")
    for name in set(fields) & set(files):
        raise InvalidRequestError(f"{name}: given both as a file and as text")
    return inputs.parse_model(form_model, inputs.form_data(fields, json_fields)), files


def upload_label(field: str, upload: UploadFile, index: int | None = None) -> str:
    """How errors name an uploaded file: `field[index] (filename)`."""
    label = f"{field}[{index}]" if index is not None else field
    return f"{label} ({upload.filename})" if upload.filename else label


async def upload_bytes(upload: UploadFile, label: str, limits: Limits) -> bytes:
    """Read an uploaded file, refusing one over `max_upload_bytes`."""
    data = await upload.read(limits.max_upload_bytes + 1)
    if len(data) > limits.max_upload_bytes:
        raise LimitExceededError(f"{label}: over the {limits.max_upload_bytes}-byte limit (max_upload_bytes)")
    return data


def dual_request_body(model: type[BaseModel], form_properties: dict[str, Any], required: list[str]) -> dict:
    """OpenAPI `requestBody` taking `model` as JSON, or a multipart form with `form_properties`."""
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": model.model_json_schema()},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": form_properties, "required": required}
                },
            },
        }
    }


def form_request_body(form_properties: dict[str, Any], required: list[str]) -> dict:
    """OpenAPI `requestBody` of a multipart form only."""
    schema = {"type": "object", "properties": form_properties, "required": required}
    return {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": schema}}}}


def require_api_key(request: Request, key: str | None = Depends(API_KEY_HEADER)) -> None:
    """Refuse the request (401) unless it carries the configured API key (none configured: open)."""
    expected = request.app.state.settings.api_key
    if expected is None:
        return
    bearer = request.headers.get("authorization", "")
    given = key or (bearer[7:] if bearer.lower().startswith("bearer ") else "")
    if not given or not secrets.compare_digest(given.encode(), expected.encode()):
        raise NotAuthorizedError("this endpoint needs the server's API key in the X-API-Key header")
