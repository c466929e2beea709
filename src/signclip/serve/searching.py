"""The search, item and indexing endpoints: each parses the request, calls `signclip.search.service`
in a worker thread with a Store, and builds the response from the service's answer."""

from __future__ import annotations

import hashlib
import mimetypes
import re
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi import Path as PathParam
from fastapi.responses import FileResponse, Response
from starlette.datastructures import UploadFile

from signclip.poses.io import pose_to_bytes, write_bytes_atomically
from signclip.search import service
from signclip.search.models import choose_loaded_model
from signclip.search.request import IndexOptions, validate_index_request
from signclip.search.rerank import Rerank
from signclip.segment.registry import segmenter_names
from signclip.serve import inputs
from signclip.serve.embedding import extract_video
from signclip.serve.handling import (
    BINARY,
    FORM_TEXT,
    Api,
    ApiDep,
    dual_request_body,
    read_request,
    require_api_key,
    upload_bytes,
    upload_label,
)
from signclip.serve.inputs import InvalidRequestError
from signclip.serve.resources import ServedModel
from signclip.serve.schemas import (
    MAX_CANDIDATES,
    ErrorResponse,
    IndexRequest,
    IndexResponse,
    ItemResponse,
    SearchRequest,
    SearchResponse,
    SkeletonModel,
)
from signclip.serve.skeleton import pose_skeleton
from signclip.store.items import DatasetState
from signclip.store.store import Store

MAX_ITEM_ID = 2**53  # item ids stay exact as JSON numbers (JavaScript's safe integers)
router = APIRouter()
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
    "rerank": {"type": "string", "enum": ["dtw", "none"]},
    "candidates": {"type": "integer", "minimum": 1, "maximum": MAX_CANDIDATES},
    "fusion_weight": {"type": "number", "minimum": 0, "maximum": 1000},
}


async def search_query(api: Api, body: SearchRequest, files: dict[str, list[UploadFile]]) -> tuple[str, Any]:
    """Return (kind, query): the text, or the Pose of an uploaded or base64 pose, or (video bytes, label, name)."""
    given = [name for name in ("text", "pose", "video") if getattr(body, name) is not None or name in files]
    if len(given) != 1:
        raise InvalidRequestError(
            f"give exactly one of text, pose or video to search with (got {', '.join(given) or 'none'})"
        )
    kind = given[0]
    if kind == "text":
        if not body.text.strip():
            raise InvalidRequestError("text: the search text is empty")
        inputs.check_texts([body.text], api.limits)
        return kind, body.text
    if kind in files:
        if len(files[kind]) != 1:
            raise InvalidRequestError(f"{kind}: upload exactly one file")
        upload = files[kind][0]
        label = upload_label(kind, upload)
        data, filename = await upload_bytes(upload, label, api.limits), upload.filename
    else:
        label, filename = kind, None
        data = inputs.decode_base64(getattr(body, kind), kind, api.limits.max_upload_bytes)
    if kind == "pose":
        return kind, inputs.pose_from_upload(data, label, api.limits)
    return kind, (data, label, filename)


def search_model(api: Api, store: Store, state: DatasetState, body: SearchRequest) -> ServedModel:
    """The loaded model to search with: the one asked for, else the first loaded model that the dataset has
    (409 naming the dataset's models otherwise)."""
    models = api.resources.models
    dataset_models = service.dataset_models(store, state, api.resources.search_cache)
    chosen = choose_loaded_model(dataset_models, body.dataset, models.loaded(), body.model_name)
    return models.get(chosen or body.model_name)


def run_search(store: Store, api: Api, body: SearchRequest, kind: str, query: Any) -> SearchResponse:
    """Search as the request asks (blocking); a video is extracted within the server's limits."""
    state = store.dataset_state(body.dataset)
    served = search_model(api, store, state, body)
    languages = {name: getattr(body, name) for name in ("spoken_language", "signed_language") if getattr(body, name)}
    request = service.Query(**{kind: query}, prompt=body.prompt, languages=languages)
    answer = service.search(
        store,
        served,
        state,
        request,
        k=body.k,
        where=body.filters,
        video_to_pose=lambda upload: extract_video(api, *upload),
        cache=api.resources.search_cache,
        rerank=Rerank(body.rerank, body.candidates, body.fusion_weight) if body.rerank else None,
    )
    return SearchResponse.of(answer, skeleton=body.include_query_skeleton, metric=store.metric_of(served.name))


@router.post(
    "/api/search",
    response_model=SearchResponse,
    tags=["search"],
    openapi_extra=dual_request_body(SearchRequest, SEARCH_FORM, ["dataset"]),
)
async def search(request: Request, api: ApiDep) -> SearchResponse:
    """Rank a dataset's items by similarity to a text, a pose or a video (JSON with base64, or multipart)."""
    body, files = await read_request(request, SearchRequest, SearchRequest, ("pose", "video"), ("filters",))
    if body.k > api.limits.max_k:
        raise InvalidRequestError(f"k: {body.k} results asked for, over the limit of {api.limits.max_k} (max_k)")
    if body.model_name is not None:
        api.resources.models.get(body.model_name)  # an unknown name fails before any upload is read
    kind, query = await search_query(api, body, files)
    return await api.with_store(run_search, api, body, kind, query)


# ----------------------------------------------------------------------------- items

ItemId = PathParam(ge=1, le=MAX_ITEM_ID, description="the item's id in the store")


@router.get("/api/items/{item_id}", response_model=ItemResponse, tags=["items"])
async def get_item(api: ApiDep, item_id: int = ItemId) -> ItemResponse:
    """One item's labels and links to its pose."""
    item = await api.with_store(service.stored_item, item_id)
    return ItemResponse.of(item, dataset=item.dataset)


def item_pose_response(store: Store, item_id: int) -> Response:
    """The item's .pose file as a download: the file itself, or its segment cut out."""
    item = service.stored_item(store, item_id)
    headers = {"Content-Disposition": f'attachment; filename="item-{item_id}.pose"'}
    if not item.is_segment:
        return FileResponse(service.item_pose_path(item), media_type="application/octet-stream", headers=headers)
    return Response(pose_to_bytes(service.item_pose(item)), media_type="application/octet-stream", headers=headers)


@router.get(
    "/api/items/{item_id}/pose",
    tags=["items"],
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}, "description": "the .pose file"}},
)
async def get_item_pose(api: ApiDep, item_id: int = ItemId) -> Response:
    """The item's `.pose` file (cropped to its segment when the item is a segment of a longer pose)."""
    return await api.with_store(item_pose_response, item_id)


def item_skeleton(store: Store, item_id: int, max_frames: int) -> SkeletonModel:
    """The item's pose (its segment) as a drawable skeleton of at most `max_frames` frames."""
    skeleton = pose_skeleton(service.item_pose(service.stored_item(store, item_id)), max_frames=max_frames)
    return SkeletonModel.model_validate(skeleton.to_dict())


@router.get("/api/items/{item_id}/skeleton", response_model=SkeletonModel, tags=["items"])
async def get_item_skeleton(
    api: ApiDep,
    item_id: int = ItemId,
    max_frames: int = Query(48, ge=1, le=1000, description="frames to keep (evenly spaced)"),
) -> SkeletonModel:
    """The item's pose as a small drawable skeleton: 2D points per frame and the limbs joining them."""
    return await api.with_store(item_skeleton, item_id, max_frames)


def item_video_path(store: Store, item_id: int) -> Path:
    """The video file of item `item_id` (looked up in the store, never taken from the request)."""
    return service.item_video_path(service.stored_item(store, item_id))


@router.get(
    "/api/items/{item_id}/video",
    tags=["items"],
    response_class=FileResponse,
    responses={
        200: {"content": {"video/mp4": {}}, "description": "the video file"},
        206: {"description": "the byte range asked for (Range: bytes=...)"},
    },
)
async def get_item_video(api: ApiDep, item_id: int = ItemId) -> FileResponse:
    """The video of the item's recording, with HTTP range requests (a segment is a time range of it:
    play from start_ms to end_ms, e.g. with a `#t=start,end` media fragment)."""
    path = await api.with_store(item_video_path, item_id)
    return FileResponse(path, media_type=mimetypes.guess_type(path.name)[0] or "application/octet-stream")


# ----------------------------------------------------------------------------- indexing


def upload_folder(api: Api) -> Path:
    """Where poses added through the API are kept."""
    return Path(api.settings.upload_dir) if api.settings.upload_dir else api.resources.stores.home / "uploads"


def checked_index_request(api: Api, body: IndexRequest, served: ServedModel) -> tuple[Any, list[tuple[Path, bytes]]]:
    """Check a whole index request (every pose decoded and read, the ids, the segmenter, the dataset name and
    the manifest it makes) before anything is written; returns the validated indexing request and the
    uploads to keep (upload path, bytes)."""
    inputs.check_pose_count(len(body.items), api.limits, field="items")
    ids = [item.id for item in body.items]
    if len(set(ids)) != len(ids):
        raise InvalidRequestError("items: two items share one id")
    payloads = [
        inputs.decode_base64(item.pose, f"items[{i}].pose", api.limits.max_upload_bytes)
        for i, item in enumerate(body.items)
    ]
    for i, data in enumerate(payloads):
        inputs.pose_from_upload(data, f"items[{i}].pose", api.limits)
    if body.segment and body.segmenter not in segmenter_names():
        raise InvalidRequestError(f"segmenter: unknown {body.segmenter!r}; this server has {segmenter_names()}")
    folder = upload_folder(api) / _slug(body.dataset)
    uploads = [
        (folder / f"{_slug(item.id)}-{hashlib.sha256(data).hexdigest()[:16]}.pose", data)
        for item, data in zip(body.items, payloads, strict=True)
    ]
    rows = [
        {**item.model_dump(exclude={"pose"}), "pose_path": str(path)}
        for item, (path, _) in zip(body.items, uploads, strict=True)
    ]
    options = IndexOptions(
        all_or_nothing=True,
        progress=False,
        model_source=served.source,
        segment=body.segment,
        segmenter=body.segmenter,
        level=body.level,
    )
    return validate_index_request(body.dataset, pd.DataFrame(rows), served, options), uploads


def index_uploads(store: Store, request: Any, uploads: list[tuple[Path, bytes]]) -> list[int]:
    """Keep the uploaded poses in the upload folder, then index them all or nothing; returns the item ids.
    When indexing fails, the uploads this request added are removed again (the store is left as it was)."""
    written = []
    try:
        for path, data in uploads:
            if not path.exists():
                write_bytes_atomically(data, path)
                written.append(path)
        return service.index_items(store, request).item_ids
    except BaseException:
        for path in written:
            path.unlink(missing_ok=True)
        raise


@router.post(
    "/api/index",
    response_model=IndexResponse,
    tags=["indexing"],
    dependencies=[Depends(require_api_key)],
    responses={401: {"model": ErrorResponse}},
)
async def index_poses(api: ApiDep, body: IndexRequest) -> IndexResponse:
    """Add poses (base64 .pose files with their labels) to a dataset, created if new; an item whose id
    the dataset already holds is replaced. Needs the API key when the server has one.

    Every pose is read and embedded before anything is written, so a bad one leaves the store as it was.
    With `segment`, each pose is a continuous recording: its segments become the items (ids
    `<id>#sign1`, ...), and a recording without segments is refused with the store left as it was.
    """
    served = api.resources.models.get(body.model_name)
    request, uploads = checked_index_request(api, body, served)
    item_ids = await api.with_store(index_uploads, request, uploads)
    return IndexResponse(dataset=body.dataset, model=served.name, item_ids=item_ids)


def _slug(text: str) -> str:
    """Return a file-name-safe version of `text` (at most 60 characters)."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:60] or "item"
