"""The embedding endpoints: texts, `.pose` files and videos to vectors (also in the original SignCLIP
server's GET form), and the reading of uploaded poses and videos they share with search."""

from __future__ import annotations

import base64
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from fastapi import APIRouter, Request
from pose_format import Pose

from signclip.poses.io import pose_to_bytes
from signclip.serve import inputs
from signclip.serve.handling import (
    BINARY,
    FORM_TEXT,
    Api,
    ApiDep,
    dual_request_body,
    form_request_body,
    media_type,
    read_request,
    upload_bytes,
    upload_label,
)
from signclip.serve.inputs import InvalidRequestError, UnsupportedMediaTypeError
from signclip.serve.resources import ServedModel
from signclip.serve.schemas import (
    CompatEmbeddingsResponse,
    EmbeddingsResponse,
    ModelChoice,
    PoseEmbedRequest,
    TextEmbedRequest,
    VideoEmbedResponse,
    VideoForm,
)

router = APIRouter()
POSE_FORM = {"pose": {"type": "array", "items": BINARY, "description": ".pose files"}, "model_name": FORM_TEXT}
POSE_BODY = dual_request_body(PoseEmbedRequest, POSE_FORM, ["pose"])
VIDEO_FORM = {
    "video": {**BINARY, "description": "a video of signing (mp4, webm, mov, ...)"},
    "model_name": FORM_TEXT,
    "return_pose": {"type": "boolean"},
}


def checked_texts(api: Api, body: TextEmbedRequest) -> tuple[ServedModel, list[str]]:
    """The model asked for and the request's texts, checked against the limits."""
    served = api.resources.models.get(body.model_name)
    return served, inputs.check_texts(inputs.to_list(body.text), api.limits)


@router.post("/api/embed/text", response_model=EmbeddingsResponse, tags=["embed"])
async def embed_text(api: ApiDep, body: TextEmbedRequest) -> EmbeddingsResponse:
    """Embed one text or a list of texts, used as given (include the prompt, e.g. "<en> <ase> house")."""
    served, texts = checked_texts(api, body)
    vectors = await api.run(served.embed_texts, texts)
    return EmbeddingsResponse(model=served.name, embeddings=vectors.tolist())


@router.get("/api/embed/text", response_model=CompatEmbeddingsResponse, tags=["compatibility"])
async def embed_text_compat(api: ApiDep, body: TextEmbedRequest) -> CompatEmbeddingsResponse:
    """The original SignCLIP server's form: a GET with a JSON body `{"text": ..., "model_name": ...}`, answered
    as the original answers it: the raw vectors, not L2-normalized (score them as it does, by dot product)."""
    served, texts = checked_texts(api, body)
    vectors = await api.run(lambda: served.embed_texts(texts, normalize=False))
    return CompatEmbeddingsResponse(embeddings=vectors.tolist())


async def poses_from_request(request: Request, api: Api) -> tuple[ServedModel, list[Pose]]:
    """Read the poses of an embed request (base64 JSON or uploaded files), checked against the limits."""
    limits = api.limits
    body, files = await read_request(request, PoseEmbedRequest, ModelChoice, ("pose",))
    served = api.resources.models.get(body.model_name)
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


@router.post("/api/embed/pose", response_model=EmbeddingsResponse, tags=["embed"], openapi_extra=POSE_BODY)
async def embed_pose(request: Request, api: ApiDep) -> EmbeddingsResponse:
    """Embed `.pose` files: JSON with base64 `pose` (one or a list), or a multipart upload of `pose` files."""
    served, poses = await poses_from_request(request, api)
    vectors = await api.run(served.embed_poses, poses)
    return EmbeddingsResponse(model=served.name, embeddings=vectors.tolist())


@router.get(
    "/api/embed/pose",
    response_model=CompatEmbeddingsResponse,
    tags=["compatibility"],
    openapi_extra=POSE_BODY,
)
async def embed_pose_compat(request: Request, api: ApiDep) -> CompatEmbeddingsResponse:
    """The original SignCLIP server's form: a GET with a JSON body `{"pose": base64 or [base64], "model_name": ...}`,
    answered with the raw vectors, not L2-normalized, as the original answers it."""
    served, poses = await poses_from_request(request, api)
    vectors = await api.run(lambda: served.embed_poses(poses, normalize=False))
    return CompatEmbeddingsResponse(embeddings=vectors.tolist())


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


def extract_video(api: Api, data: bytes, label: str, filename: str | None) -> Pose:
    """Check an uploaded video's duration, then extract its Holistic pose (blocking)."""
    with video_file(data, label, filename) as path:
        inputs.check_video_duration(path, label, api.limits)
        pose = api.resources.extractor.video_to_pose(path)
    return inputs.check_extracted_frames(pose, label, api.limits)


@router.post(
    "/api/embed/video",
    response_model=VideoEmbedResponse,
    tags=["embed"],
    openapi_extra=form_request_body(VIDEO_FORM, ["video"]),
)
async def embed_video(request: Request, api: ApiDep) -> VideoEmbedResponse:
    """Upload a video (multipart field `video`): its MediaPipe Holistic pose is extracted and embedded."""
    if media_type(request) != "multipart/form-data":
        raise UnsupportedMediaTypeError("upload the video as multipart/form-data in the `video` field")
    form, files = await read_request(request, VideoForm, VideoForm, ("video",))
    uploads = files.get("video", [])
    if len(uploads) != 1:
        raise InvalidRequestError(f"video: upload exactly one video file (got {len(uploads)})")
    served = api.resources.models.get(form.model_name)
    label = upload_label("video", uploads[0])
    data = await upload_bytes(uploads[0], label, api.limits)

    def work() -> tuple[Pose, list[list[float]]]:
        pose = extract_video(api, data, label, uploads[0].filename)
        return pose, served.embed_poses([pose]).tolist()

    pose, embeddings = await api.run(work)
    encoded = base64.b64encode(pose_to_bytes(pose)).decode() if form.return_pose else None
    frames, fps = int(pose.body.data.shape[0]), float(pose.body.fps)
    return VideoEmbedResponse(model=served.name, embeddings=embeddings, frames=frames, fps=fps, pose=encoded)
