"""The HTTP API's endpoints. Handlers parse and check the request, then run the blocking work (torch,
PostgreSQL, MediaPipe) in a worker thread under the per-request time limit (see handling.py).

Endpoints that take a file accept JSON with base64 fields or a multipart upload; the OpenAPI document
describes both request bodies.
"""

from __future__ import annotations

import base64
import hashlib
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from pose_format import Pose
from starlette.datastructures import UploadFile

from signclip.data.table import read_item_pose
from signclip.errors import SignclipError
from signclip.poses.io import pose_to_bytes, write_bytes_atomically
from signclip.search.queries import text_prompt
from signclip.search.store import Store
from signclip.serve import inputs
from signclip.serve.handling import (
    BINARY,
    FORM_TEXT,
    dual_request_body,
    form_request_body,
    limits_of,
    media_type,
    read_request,
    require_api_key,
    resources_of,
    run_blocking,
    upload_bytes,
    upload_label,
)
from signclip.serve.inputs import InvalidRequestError, UnsupportedMediaTypeError
from signclip.serve.resources import Resources, ServedModel
from signclip.serve.schemas import (
    CompatEmbeddingsResponse,
    DatasetEntry,
    DatasetsResponse,
    EmbeddingsResponse,
    ErrorResponse,
    HealthResponse,
    IndexRequest,
    IndexResponse,
    ItemResponse,
    ModelChoice,
    ModelEntry,
    ModelsResponse,
    PoseEmbedRequest,
    QueryInfo,
    SearchHit,
    SearchRequest,
    SearchResponse,
    SkeletonModel,
    TextEmbedRequest,
    VideoEmbedResponse,
    VideoForm,
)
from signclip.serve.settings import Limits, ServeSettings
from signclip.serve.skeleton import pose_skeleton

MAX_ITEM_ID = 2**63 - 1
ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 404, 409, 413, 415, 422, 503)
}

router = APIRouter(responses=ERRORS)


class ItemNotFoundError(SignclipError):
    """An item id the store does not hold, or an item whose pose file is not there."""


# ----------------------------------------------------------------------------- status


@router.get("/healthz", response_model=HealthResponse, tags=["status"])
async def health(request: Request) -> HealthResponse:
    """Liveness and readiness: the models are loaded and the database answers."""

    def check() -> None:
        with resources_of(request).stores.store() as store:
            store.connection.execute("SELECT 1")

    await run_blocking(request, check)
    return HealthResponse(status="ok", models=[m.name for m in resources_of(request).models.models], database="ok")


@router.get("/api/models", response_model=ModelsResponse, tags=["status"])
async def list_models(request: Request) -> ModelsResponse:
    """The loaded models; the first is the default."""
    served = resources_of(request).models.models
    entries = [
        ModelEntry(name=m.name, aliases=m.aliases, embed_dim=m.embed_dim, prompt=m.prompt, default=i == 0)
        for i, m in enumerate(served)
    ]
    return ModelsResponse(models=entries)


@router.get("/api/datasets", response_model=DatasetsResponse, tags=["search"])
async def list_datasets(request: Request) -> DatasetsResponse:
    """Every dataset in the store with its item count and embedding count per model."""

    def work() -> list[DatasetEntry]:
        with resources_of(request).stores.store() as store:
            return [DatasetEntry(name=d.name, items=d.items, embeddings=d.embeddings) for d in store.list_datasets()]

    return DatasetsResponse(datasets=await run_blocking(request, work))


# ----------------------------------------------------------------------------- embedding


def checked_texts(request: Request, body: TextEmbedRequest) -> tuple[ServedModel, list[str]]:
    served = resources_of(request).models.get(body.model_name)
    return served, inputs.check_texts(inputs.to_list(body.text), limits_of(request))


@router.post("/api/embed/text", response_model=EmbeddingsResponse, tags=["embed"])
async def embed_text(request: Request, body: TextEmbedRequest) -> EmbeddingsResponse:
    """Embed one text or a list of texts, used as given (include the prompt, e.g. "<en> <ase> house")."""
    served, texts = checked_texts(request, body)
    vectors = await run_blocking(request, served.embed_texts, texts)
    return EmbeddingsResponse(model=served.name, embeddings=vectors.tolist())


@router.get("/api/embed/text", response_model=CompatEmbeddingsResponse, tags=["compatibility"])
async def embed_text_compat(request: Request, body: TextEmbedRequest) -> CompatEmbeddingsResponse:
    """The original SignCLIP server's form: a GET with a JSON body `{"text": ..., "model_name": ...}`."""
    served, texts = checked_texts(request, body)
    return CompatEmbeddingsResponse(embeddings=(await run_blocking(request, served.embed_texts, texts)).tolist())


POSE_FORM = {"pose": {"type": "array", "items": BINARY, "description": ".pose files"}, "model_name": FORM_TEXT}


async def poses_from_request(request: Request) -> tuple[ServedModel, list[Pose]]:
    """Read the poses of an embed request (base64 JSON or uploaded files), checked against the limits."""
    limits = limits_of(request)
    body, files = await read_request(request, PoseEmbedRequest, ModelChoice, ("pose",))
    served = resources_of(request).models.get(body.model_name)
    payloads: list[tuple[str, bytes]] = []
    if files:
        uploads = files["pose"]
        inputs.check_pose_count(len(uploads), limits)
        for index, upload in enumerate(uploads):
            label = upload_label("pose", upload, index if len(uploads) > 1 else None)
            payloads.append((label, await upload_bytes(upload, label, limits)))
    elif isinstance(body, PoseEmbedRequest):
        encoded = inputs.to_list(body.pose)
        inputs.check_pose_count(len(encoded), limits)
        for index, text in enumerate(encoded):
            label = f"pose[{index}]" if isinstance(body.pose, list) else "pose"
            payloads.append((label, inputs.decode_base64(text, label, limits.max_upload_bytes)))
    else:
        raise InvalidRequestError("pose: upload at least one .pose file in the `pose` field")
    return served, [inputs.pose_from_upload(data, label, limits) for label, data in payloads]


@router.post(
    "/api/embed/pose",
    response_model=EmbeddingsResponse,
    tags=["embed"],
    openapi_extra=dual_request_body(PoseEmbedRequest, POSE_FORM, ["pose"]),
)
async def embed_pose(request: Request) -> EmbeddingsResponse:
    """Embed `.pose` files: JSON with base64 `pose` (one or a list), or a multipart upload of `pose` files."""
    served, poses = await poses_from_request(request)
    vectors = await run_blocking(request, served.embed_poses, poses)
    return EmbeddingsResponse(model=served.name, embeddings=vectors.tolist())


@router.get(
    "/api/embed/pose",
    response_model=CompatEmbeddingsResponse,
    tags=["compatibility"],
    openapi_extra=dual_request_body(PoseEmbedRequest, POSE_FORM, ["pose"]),
)
async def embed_pose_compat(request: Request) -> CompatEmbeddingsResponse:
    """The original SignCLIP server's form: a GET with a JSON body `{"pose": base64 or [base64], "model_name": ...}`."""
    served, poses = await poses_from_request(request)
    return CompatEmbeddingsResponse(embeddings=(await run_blocking(request, served.embed_poses, poses)).tolist())


@contextmanager
def video_file(data: bytes, label: str, filename: str | None) -> Iterator[Path]:
    """Write video bytes to a temporary file (removed on exit) and yield its path."""
    if not data:
        raise inputs.RequestFormatError(f"{label}: the file is empty, not a video")
    suffix = Path(filename or "").suffix.lower()
    if not re.fullmatch(r"\.[a-z0-9]{1,8}", suffix):
        suffix = ".mp4"
    folder = Path(tempfile.mkdtemp(prefix="signclip-upload-"))
    try:
        path = folder / f"video{suffix}"
        path.write_bytes(data)
        yield path
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def extract_video(resources: Resources, limits: Limits, data: bytes, label: str, filename: str | None) -> Pose:
    """Check an uploaded video's duration, then extract its Holistic pose (blocking)."""
    with video_file(data, label, filename) as path:
        inputs.check_video_duration(path, label, limits)
        pose = resources.extractor.video_to_pose(path)
    return inputs.check_extracted_frames(pose, label, limits)


VIDEO_FORM = {
    "video": {**BINARY, "description": "a video of signing (mp4, webm, mov, ...)"},
    "model_name": FORM_TEXT,
    "return_pose": {"type": "boolean"},
}


@router.post(
    "/api/embed/video",
    response_model=VideoEmbedResponse,
    tags=["embed"],
    openapi_extra=form_request_body(VIDEO_FORM, ["video"]),
)
async def embed_video(request: Request) -> VideoEmbedResponse:
    """Upload a video (multipart field `video`): its MediaPipe Holistic pose is extracted and embedded."""
    if media_type(request) != "multipart/form-data":
        raise UnsupportedMediaTypeError("upload the video as multipart/form-data in the `video` field")
    limits, resources = limits_of(request), resources_of(request)
    form, files = await read_request(request, VideoForm, VideoForm, ("video",))
    uploads = files.get("video", [])
    if len(uploads) != 1:
        raise InvalidRequestError(f"video: upload exactly one video file (got {len(uploads)})")
    served = resources.models.get(form.model_name)
    label = upload_label("video", uploads[0])
    data = await upload_bytes(uploads[0], label, limits)

    def work() -> tuple[Pose, list[list[float]]]:
        pose = extract_video(resources, limits, data, label, uploads[0].filename)
        return pose, served.embed_poses([pose]).tolist()

    pose, embeddings = await run_blocking(request, work)
    encoded = base64.b64encode(pose_to_bytes(pose)).decode() if form.return_pose else None
    return VideoEmbedResponse(
        model=served.name,
        embeddings=embeddings,
        frames=int(pose.body.data.shape[0]),
        fps=float(pose.body.fps),
        pose=encoded,
    )


# ----------------------------------------------------------------------------- search

SEARCH_FORM = {
    "dataset": FORM_TEXT,
    "text": FORM_TEXT,
    "pose": {**BINARY, "description": "a .pose file"},
    "video": {**BINARY, "description": "a video file"},
    "k": {"type": "integer", "minimum": 1},
    "filters": {"type": "string", "description": 'JSON object, e.g. {"signer": "3"}'},
    "model_name": FORM_TEXT,
    "prompt": {"type": "boolean"},
    "spoken_language": FORM_TEXT,
    "signed_language": FORM_TEXT,
    "include_query_skeleton": {"type": "boolean"},
}


def item_links(item_id: int) -> dict[str, str]:
    return {"pose_url": f"/api/items/{item_id}/pose", "skeleton_url": f"/api/items/{item_id}/skeleton"}


def prompt_for(served: ServedModel, body: SearchRequest, store: Store) -> str:
    """Wrap the text query in the model's prompt template; languages from the request, the filters or the dataset."""
    chosen = {field: inputs.to_list(value) for field, value in body.filters.items()}
    for field in ("spoken_language", "signed_language"):
        if getattr(body, field):
            chosen[field] = [getattr(body, field)]
    languages = store.languages(body.dataset)
    try:
        return text_prompt(served.prompt, body.text, languages, chosen)
    except SignclipError as error:
        raise InvalidRequestError(
            f"text: cannot fill model {served.name!r}'s prompt template {served.prompt!r} ({error}); give "
            "spoken_language and signed_language, or prompt=false to use the text as given"
        ) from None


async def search_query(request: Request, body: SearchRequest, files: dict[str, list[UploadFile]]) -> tuple[str, Any]:
    """Return (kind, query): the text, or the Pose of an uploaded or base64 pose, or video bytes."""
    limits = limits_of(request)
    given = [name for name in ("text", "pose", "video") if getattr(body, name) is not None or name in files]
    if len(given) != 1:
        raise InvalidRequestError(
            f"give exactly one of text, pose or video to search with (got {', '.join(given) or 'none'})"
        )
    kind = given[0]
    if kind == "text":
        if not body.text.strip():
            raise InvalidRequestError("text: the search text is empty")
        inputs.check_texts([body.text], limits)
        return kind, body.text
    if kind in files:
        if len(files[kind]) != 1:
            raise InvalidRequestError(f"{kind}: upload exactly one file")
        upload = files[kind][0]
        label = upload_label(kind, upload)
        data = await upload_bytes(upload, label, limits)
        filename = upload.filename
    else:
        label = kind
        data = inputs.decode_base64(getattr(body, kind), kind, limits.max_upload_bytes)
        filename = None
    if kind == "pose":
        return kind, inputs.pose_from_upload(data, label, limits)
    return kind, (data, label, filename)


@router.post(
    "/api/search",
    response_model=SearchResponse,
    tags=["search"],
    openapi_extra=dual_request_body(SearchRequest, SEARCH_FORM, ["dataset"]),
)
async def search(request: Request) -> SearchResponse:
    """Rank a dataset's items by similarity to a text, a pose or a video (JSON with base64, or multipart)."""
    limits, resources = limits_of(request), resources_of(request)
    body, files = await read_request(request, SearchRequest, SearchRequest, ("pose", "video"), ("filters",))
    if body.k > limits.max_k:
        raise InvalidRequestError(f"k: {body.k} results asked for, over the limit of {limits.max_k} (max_k)")
    served = resources.models.get(body.model_name)
    kind, query = await search_query(request, body, files)

    def work() -> SearchResponse:
        info = QueryInfo(kind=kind)
        with resources.stores.store() as store:
            store.dataset_id(body.dataset)
            store.check_model(served.name, served.embed_dim, served.fingerprint)
            if kind == "text":
                info.text = query
                info.prompt = prompt_for(served, body, store) if body.prompt else query
                vector = served.embed_texts([info.prompt])[0]
            else:
                pose = extract_video(resources, limits, *query) if kind == "video" else query
                vector = served.embed_poses([pose])[0]
                info.frames = int(pose.body.data.shape[0])
                if body.include_query_skeleton:
                    info.skeleton = SkeletonModel.model_validate(pose_skeleton(pose).to_dict())
            results = store.search(body.dataset, served.name, vector, k=body.k, where=body.filters)
        hits = [
            SearchHit(
                rank=rank,
                score=1.0 - result.distance,
                has_pose=bool(result.pose_path),
                **{key: value for key, value in result.to_dict().items() if key not in ("pose_path", "video_path")},
                **item_links(result.item_id),
            )
            for rank, result in enumerate(results, start=1)
        ]
        return SearchResponse(dataset=body.dataset, model=served.name, query=info, results=hits)

    return await run_blocking(request, work)


# ----------------------------------------------------------------------------- items

ItemId = PathParam(ge=1, le=MAX_ITEM_ID, description="the item's id in the store")


def stored_item(resources: Resources, item_id: int) -> dict[str, Any]:
    with resources.stores.store() as store:
        item = store.item(item_id)
    if item is None:
        raise ItemNotFoundError(f"item {item_id}: no such item in the store")
    return item


def item_pose_path(item: dict[str, Any]) -> Path:
    """Return the item's pose file; ItemNotFoundError when it has none (yet) or the file is gone."""
    if not item["pose_path"]:
        raise ItemNotFoundError(f"item {item['item_id']}: has no pose file (its video was not extracted yet)")
    path = Path(item["pose_path"])
    if not path.is_file():
        raise ItemNotFoundError(f"item {item['item_id']}: its pose file is missing on the server")
    return path


def item_pose(item: dict[str, Any]) -> Pose:
    """Read the item's pose, cropped to its segment when it has one."""
    return read_item_pose({**item, "pose_path": str(item_pose_path(item))}, allow_nan=True)


@router.get("/api/items/{item_id}", response_model=ItemResponse, tags=["items"])
async def get_item(request: Request, item_id: int = ItemId) -> ItemResponse:
    """One item's labels and links to its pose."""
    item = await run_blocking(request, stored_item, resources_of(request), item_id)
    fields = {key: value for key, value in item.items() if key not in ("pose_path", "video_path")}
    return ItemResponse(**fields, has_pose=bool(item["pose_path"]), **item_links(item_id))


@router.get(
    "/api/items/{item_id}/pose",
    tags=["items"],
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the .pose file"}},
)
async def get_item_pose(request: Request, item_id: int = ItemId) -> Response:
    """The item's `.pose` file (cropped to its segment when the item is a segment of a longer pose)."""
    resources = resources_of(request)

    def work() -> Response:
        item = stored_item(resources, item_id)
        filename = f"item-{item_id}.pose"
        headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
        if item["start_ms"] is None and item["end_ms"] is None:
            return FileResponse(item_pose_path(item), media_type="application/octet-stream", headers=headers)
        return Response(pose_to_bytes(item_pose(item)), media_type="application/octet-stream", headers=headers)

    return await run_blocking(request, work)


@router.get("/api/items/{item_id}/skeleton", response_model=SkeletonModel, tags=["items"])
async def get_item_skeleton(
    request: Request,
    item_id: int = ItemId,
    max_frames: int = Query(48, ge=1, le=1000, description="frames to keep (evenly spaced)"),
) -> SkeletonModel:
    """The item's pose as a small drawable skeleton: 2D points per frame and the limbs joining them."""
    resources = resources_of(request)

    def work() -> SkeletonModel:
        skeleton = pose_skeleton(item_pose(stored_item(resources, item_id)), max_frames=max_frames)
        return SkeletonModel.model_validate(skeleton.to_dict())

    return await run_blocking(request, work)


# ----------------------------------------------------------------------------- indexing


def upload_folder(request: Request) -> Path:
    settings: ServeSettings = request.app.state.settings
    if settings.upload_dir:
        return Path(settings.upload_dir)
    return resources_of(request).stores.home / "uploads"


@router.post(
    "/api/index",
    response_model=IndexResponse,
    tags=["indexing"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorResponse}},
)
async def index_poses(request: Request, body: IndexRequest) -> IndexResponse:
    """Add poses (base64 .pose files with their labels) to a dataset, created if new; an item whose id
    the dataset already holds is replaced. Needs the API key when the server has one.

    Every pose is read and embedded before anything is written, so a bad one leaves the store as it was.
    """
    limits, resources = limits_of(request), resources_of(request)
    served = resources.models.get(body.model_name)
    inputs.check_pose_count(len(body.items), limits, field="items")
    ids = [item.id for item in body.items]
    if len(set(ids)) != len(ids):
        raise InvalidRequestError("items: two items share one id")
    payloads = [
        inputs.decode_base64(item.pose, f"items[{i}].pose", limits.max_upload_bytes)
        for i, item in enumerate(body.items)
    ]
    poses = [inputs.pose_from_upload(data, f"items[{i}].pose", limits) for i, data in enumerate(payloads)]
    folder = upload_folder(request) / _slug(body.dataset)

    def work() -> list[int]:
        vectors = served.embed_poses(poses)
        rows = []
        for item, data in zip(body.items, payloads, strict=True):
            path = folder / f"{_slug(item.id)}-{hashlib.sha256(data).hexdigest()[:16]}.pose"
            if not path.exists():
                write_bytes_atomically(data, path)
            rows.append({**item.model_dump(exclude={"pose"}), "pose_path": str(path)})
        with resources.stores.store() as store, store.connection.transaction():
            store.register_model(served.name, served.embed_dim, {"fingerprint": served.fingerprint})
            item_ids = store.add_items(body.dataset, rows)
            store.add_embeddings(served.name, item_ids, vectors)
        return [int(i) for i in item_ids]

    return IndexResponse(dataset=body.dataset, model=served.name, item_ids=await run_blocking(request, work))


def _slug(text: str) -> str:
    """Return a file-name-safe version of `text` (at most 60 characters)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "item"
