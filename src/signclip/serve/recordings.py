"""The recording and export endpoints: a hit's whole recording (every indexed segment of it, by level, for
the page's timeline) and the download of a search's hits as CSV or ELAN (signclip.search.exports, the
same writer as `signclip search -o`)."""

from __future__ import annotations

import io
import tempfile
import zipfile
from pathlib import Path
from typing import Literal

from fastapi import APIRouter
from fastapi import Path as PathParam
from fastapi.responses import Response
from pydantic import BaseModel, Field

from signclip.search.exports import ExportError, ExportHit, write_hits
from signclip.search.recording import recording_of
from signclip.search.service import ItemNotFoundError
from signclip.serve.handling import ApiDep
from signclip.serve.inputs import InvalidRequestError
from signclip.serve.schemas import Item, Text
from signclip.serve.searching import MAX_ITEM_ID
from signclip.store.store import Store

router = APIRouter()
MEDIA_TYPES = {".csv": "text/csv; charset=utf-8", ".eaf": "application/xml", ".zip": "application/zip"}


class RecordingLevel(BaseModel):
    """The recording's indexed items of one level ("sign", "sentence", "segment", or "whole"), in time order."""

    level: str
    items: list[Item]


class RecordingResponse(BaseModel):
    """A hit's recording: its name and dataset, its video, how long it is by its segments, and every indexed
    item of it by level (`truncated`: it has more items than were returned)."""

    name: str
    dataset: str
    video_url: str | None = Field(description="the recording's video (null: the server has none)")
    duration_ms: float | None = Field(description="the end of its last segment (null: indexed whole)")
    truncated: bool
    levels: list[RecordingLevel]


class ExportedHit(BaseModel):
    """One hit to export: its item and score, in rank order."""

    item_id: int = Field(ge=1, le=MAX_ITEM_ID)
    score: float = Field(strict=True)  # a number (true/false are not scores)


class ExportRequest(BaseModel):
    """Hits of a search to download: `csv` (one row per hit) or `eaf` (an ELAN file per recording with a
    SEARCH tier; a zip of them for hits of several recordings). `query` is what was searched for."""

    format: Literal["csv", "eaf"]
    query: Text = Field(min_length=1, max_length=500)
    hits: list[ExportedHit] = Field(min_length=1)


def recording_response(store: Store, item_id: int) -> RecordingResponse:
    """The recording of item `item_id` as the API answers it."""
    recording = recording_of(store, item_id)
    video = next((item for item in recording.items if item.video_path), None) if recording.has_video else None
    return RecordingResponse(
        name=recording.name,
        dataset=recording.dataset,
        video_url=f"/api/items/{video.item_id}/video" if video else None,
        duration_ms=recording.duration_ms,
        truncated=recording.truncated,
        levels=[
            RecordingLevel(level=level, items=[Item.of(item) for item in items])
            for level, items in recording.levels.items()
        ],
    )


@router.get("/api/items/{item_id}/recording", response_model=RecordingResponse, tags=["items"])
async def get_recording(
    api: ApiDep, item_id: int = PathParam(ge=1, le=MAX_ITEM_ID, description="an item of the recording")
) -> RecordingResponse:
    """The recording an item belongs to: every indexed segment of it by level (sign, sentence), in time order."""
    return await api.with_store(recording_response, item_id)


def export_file(store: Store, body: ExportRequest) -> tuple[str, bytes]:
    """Write the request's hits as asked; returns (file name, bytes): one CSV or ELAN file, or a zip of ELAN files."""
    found = {item.item_id: item for item in store.items_by_id([hit.item_id for hit in body.hits])}
    missing = [hit.item_id for hit in body.hits if hit.item_id not in found]
    if missing:
        raise ItemNotFoundError(f"hits: no such item in the store: {', '.join(map(str, missing[:10]))}")
    hits = [ExportHit(rank, found[hit.item_id], hit.score) for rank, hit in enumerate(body.hits, start=1)]
    with tempfile.TemporaryDirectory(prefix="signclip-export-") as folder:
        try:
            written = write_hits(store, hits, body.query, Path(folder) / f"hits.{body.format}")
        except ExportError as error:
            raise InvalidRequestError(str(error)) from None
        if len(written) == 1:
            return written[0].name, written[0].read_bytes()
        archive = io.BytesIO()
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
            for path in written:
                zipped.write(path, path.name)
        return "hits.zip", archive.getvalue()


@router.post(
    "/api/export",
    tags=["search"],
    response_class=Response,
    responses={
        200: {
            "content": {media: {} for media in MEDIA_TYPES.values()},
            "description": "hits.csv, hits.eaf, or hits.zip of one .eaf per recording",
        }
    },
)
async def export_hits(api: ApiDep, body: ExportRequest) -> Response:
    """Download a search's hits as CSV (recording, start_ms, end_ms, score, gloss) or as ELAN files with a
    SEARCH tier, linked to each recording's video."""
    if len(body.hits) > api.limits.max_k:
        raise InvalidRequestError(f"hits: {len(body.hits)} hits, over the limit of {api.limits.max_k} (max_k)")
    name, data = await api.with_store(export_file, body)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return Response(data, media_type=MEDIA_TYPES[Path(name).suffix], headers=headers)
