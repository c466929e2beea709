"""How the HTTP API answers the library's errors: a 4xx status by the error's class (a 503 for what is not the
client's fault, never a 500), and a JSON body `{"detail": the fact and what to do about it with this API}`,
with the structured fields a client can act on (`fact`, `models`, `problem`, `loaded` of a model choice: the
search page words its own remedy from them)."""

from __future__ import annotations

from typing import Any

from signclip.errors import ConfigError, PoseFileError, PoseLayoutError, SignclipError
from signclip.model.pose_dtw import TextSearchError
from signclip.search.models import ModelChoiceError
from signclip.search.queries import PromptError
from signclip.search.rerank import RerankError
from signclip.search.service import ItemNotFoundError
from signclip.serve.handling import NotAuthorizedError
from signclip.serve.inputs import (
    InvalidRequestError,
    LimitExceededError,
    RequestFormatError,
    UnsupportedMediaTypeError,
    VideoSupportMissingError,
)
from signclip.serve.resources import ServiceUnavailableError, UnknownModelNameError
from signclip.store.embedded_postgres import DatabaseServerError
from signclip.store.errors import (
    DimensionMismatchError,
    ModelMismatchError,
    StoreError,
    UnknownDatasetError,
    UnknownModelError,
)

ERROR_STATUS: dict[type[BaseException], int] = {
    UnsupportedMediaTypeError: 415,
    RequestFormatError: 400,
    PoseFileError: 400,
    NotAuthorizedError: 401,
    UnknownDatasetError: 404,
    UnknownModelError: 404,
    UnknownModelNameError: 404,
    ItemNotFoundError: 404,
    ModelMismatchError: 409,
    DimensionMismatchError: 409,
    LimitExceededError: 413,
    InvalidRequestError: 422,
    PoseLayoutError: 422,
    PromptError: 422,
    TextSearchError: 422,
    RerankError: 422,
    ConfigError: 422,
    StoreError: 422,
    ServiceUnavailableError: 503,
    VideoSupportMissingError: 503,
    DatabaseServerError: 503,
    SignclipError: 400,
}


def error_status(error: BaseException) -> int:
    """Return the HTTP status for a SignclipError (by the nearest class in ERROR_STATUS)."""
    for cls in type(error).__mro__:
        if cls in ERROR_STATUS:
            return ERROR_STATUS[cls]
    return 400


def error_body(error: SignclipError) -> dict[str, Any]:
    """The JSON body of an error answer: `detail` (the fact and the API's way out), plus structured fields."""
    if isinstance(error, ModelChoiceError):
        remedy = {
            "other": "choose one of them with model_name",
            "several": "choose one with model_name",
            "none": "index it first (POST /api/index, or signclip index add)",
            "unknown_source": "start the server with that model (signclip serve --model DIRECTORY)",
            "not_loaded": "start the server with one of them (signclip serve --model DIRECTORY)",
        }[error.problem]
        return {
            "detail": f"{error}; {remedy}",
            "fact": str(error),
            "problem": error.problem,
            "models": error.models,
            "loaded": error.loaded,
        }
    if isinstance(error, PromptError):
        remedy = "give spoken_language and signed_language, or prompt=false to use the text as given"
        return {"detail": f"text: {error}; {remedy}"}
    return {"detail": str(error)}
