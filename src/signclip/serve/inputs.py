"""Turning request payloads into checked inputs: base64 and uploaded poses, texts, videos, within the limits.

Every problem raises a SignclipError subclass whose message names the field: `RequestFormatError` (400,
the bytes are not what the field needs), `InvalidRequestError` (422, well-formed but unusable) or
`LimitExceededError` (413, beyond a configured limit).
"""

from __future__ import annotations

import binascii
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import orjson
import pybase64
from pose_format import Pose
from pydantic import BaseModel, ValidationError

from signclip.errors import SignclipError
from signclip.poses.io import pose_from_bytes
from signclip.serve.settings import Limits

_WHITESPACE = b" \t\n\r\x0b\x0c"  # what base64 text may be wrapped with (bytes.translate drops them)
ModelT = TypeVar("ModelT", bound=BaseModel)


class RequestFormatError(SignclipError):
    """A request whose body or a field of it cannot be decoded (bad JSON, bad base64, wrong content type)."""


class InvalidRequestError(SignclipError):
    """A well-formed request that asks for something impossible (missing or conflicting fields)."""


class LimitExceededError(SignclipError):
    """A request beyond a configured limit (size, count, frames, duration)."""


class VideoSupportMissingError(SignclipError):
    """A video sent to a server installed without the video extra (not the client's fault)."""


class UnsupportedMediaTypeError(RequestFormatError):
    """A request body in a content type the endpoint does not take."""


def validation_message(error: ValidationError) -> str:
    """Return pydantic's errors as one line naming each field: `text: Input should be a valid string; ...`."""
    parts = []
    for item in error.errors():
        location = ".".join(str(part) for part in item["loc"]) or "body"
        parts.append(f"{location}: {item['msg']}")
    return "; ".join(parts)


def parse_model(model: type[ModelT], data: Any) -> ModelT:
    """Validate `data` into `model`; InvalidRequestError naming the fields otherwise."""
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise InvalidRequestError(validation_message(error)) from None


def parse_json_body(body: bytes) -> Any:
    """Parse a JSON request body; RequestFormatError for an empty or malformed one."""
    if not body or body.isspace():
        raise RequestFormatError("the request body is empty; send a JSON object")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise RequestFormatError(f"the request body is not valid JSON: {error}") from None


def form_data(fields: Mapping[str, str], json_fields: Sequence[str] = ()) -> dict[str, Any]:
    """Return multipart text fields as a dict, decoding the `json_fields` (e.g. filters) from JSON text."""
    data: dict[str, Any] = dict(fields)
    for name in json_fields:
        if name in data:
            try:
                data[name] = orjson.loads(data[name])
            except orjson.JSONDecodeError as error:
                raise RequestFormatError(f"{name}: not valid JSON text ({error})") from None
    return data


def decode_base64(text: str, field: str, max_bytes: int) -> bytes:
    """Decode standard base64 `text` (whitespace ignored); errors name `field`, sizes over `max_bytes` are refused.

    Compact base64 (the usual case) is decoded by pybase64's SIMD decoder, which lets go of the GIL on large
    inputs, so a batched forward pass on another thread is not held up; text with whitespace or an error is
    decoded by the standard library, whose messages say what is wrong."""
    if _decoded_size(len(text)) <= max_bytes:
        try:
            return pybase64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            pass
    compact = text.encode("ascii", errors="replace").translate(None, _WHITESPACE)
    if (size := _decoded_size(len(compact))) > max_bytes:
        raise LimitExceededError(
            f"{field}: the decoded file would be about {size} bytes, over the {max_bytes}-byte limit (max_upload_bytes)"
        )
    try:
        return binascii.a2b_base64(compact, strict_mode=True)
    except binascii.Error as error:
        raise RequestFormatError(f"{field}: not valid base64 ({error})") from None


def _decoded_size(characters: int) -> int:
    """The bytes that `characters` of base64 (no whitespace) decode to, at most."""
    return characters // 4 * 3


def to_list(value: str | list[str]) -> list[str]:
    """Return a field that takes one value or a list as a list."""
    return [value] if isinstance(value, str) else list(value)


def check_texts(texts: Sequence[str], limits: Limits, field: str = "text") -> list[str]:
    """Check the number and length of texts against the limits (none empty); returns them as a list."""
    texts = list(texts)
    if not texts:
        raise InvalidRequestError(f"{field}: give at least one text")
    if len(texts) > limits.max_texts:
        raise LimitExceededError(f"{field}: {len(texts)} texts, over the limit of {limits.max_texts} (max_texts)")
    for index, text in enumerate(texts):
        if not text.strip():
            raise InvalidRequestError(f"{field}[{index}]: the text is empty; give a word or phrase to embed")
        if len(text) > limits.max_text_chars:
            raise LimitExceededError(
                f"{field}[{index}]: {len(text)} characters, over the limit of {limits.max_text_chars} (max_text_chars)"
            )
    return texts


def check_pose_count(count: int, limits: Limits, field: str = "pose") -> None:
    """Refuse zero poses, or more than `max_poses`."""
    if count == 0:
        raise InvalidRequestError(f"{field}: give at least one pose")
    if count > limits.max_poses:
        raise LimitExceededError(f"{field}: {count} poses, over the limit of {limits.max_poses} (max_poses)")


def pose_from_upload(data: bytes, field: str, limits: Limits) -> Pose:
    """Parse `.pose` bytes sent in `field`; PoseFileError for bytes that are not a pose, limits checked."""
    if len(data) > limits.max_upload_bytes:
        raise LimitExceededError(
            f"{field}: {len(data)} bytes, over the {limits.max_upload_bytes}-byte limit (max_upload_bytes)"
        )
    pose = pose_from_bytes(data, name=field)
    frames = pose.body.data.shape[0]
    if frames == 0:
        raise InvalidRequestError(f"{field}: the pose has no frames")
    if frames > limits.max_frames:
        raise LimitExceededError(f"{field}: {frames} frames, over the limit of {limits.max_frames} (max_frames)")
    return pose


def video_duration(path: Path, field: str) -> float | None:
    """Return the duration in seconds a video's container declares (None when it declares none).

    Raises RequestFormatError naming `field` when the file is not a readable video.
    """
    try:
        from simple_video_utils.metadata import open_video, video_metadata_from_container
    except ImportError:
        raise VideoSupportMissingError(
            "this server cannot read videos: install the video extra (pip install 'signclip[video]')"
        ) from None
    try:
        with open_video(str(path), thread_type="NONE") as container:
            if not container.streams.video:
                raise RequestFormatError(f"{field}: the file has no video stream")
            metadata = video_metadata_from_container(container)
    except SignclipError:
        raise
    except Exception as error:  # PyAV raises many kinds for files that are not videos
        raise RequestFormatError(f"{field}: not a readable video ({type(error).__name__})") from None
    if metadata.duration:
        return float(metadata.duration)
    if metadata.nb_frames and metadata.fps:
        return metadata.nb_frames / metadata.fps
    return None


def check_video_duration(path: Path, field: str, limits: Limits) -> None:
    """Refuse a video longer than `max_video_seconds` before any frame is decoded."""
    duration = video_duration(path, field)
    if duration is not None and duration > limits.max_video_seconds:
        raise LimitExceededError(
            f"{field}: the video lasts {duration:.1f} s, over the limit of {limits.max_video_seconds:g} s "
            "(max_video_seconds)"
        )


def check_extracted_frames(pose: Pose, field: str, limits: Limits) -> Pose:
    """Refuse an extracted pose longer than `max_frames` (a video whose container gave no duration)."""
    frames = pose.body.data.shape[0]
    if frames > limits.max_frames:
        raise LimitExceededError(f"{field}: {frames} frames, over the limit of {limits.max_frames} (max_frames)")
    return pose
