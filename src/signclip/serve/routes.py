"""The HTTP API's endpoints. Handlers parse and check the request, then run the blocking work (torch,
PostgreSQL, MediaPipe) in a worker thread under the per-request time limit (see handling.py), calling
the use cases of `signclip.search.service`.

The status endpoints live here; the embedding endpoints in embedding.py, search, items and indexing in
searching.py. Endpoints that take a file accept JSON with base64 fields or a multipart upload; the
OpenAPI document describes both request bodies.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from signclip.serve import embedding, recordings, searching
from signclip.serve.handling import ApiDep
from signclip.serve.schemas import (
    DatasetEntry,
    DatasetsResponse,
    ErrorResponse,
    HealthResponse,
    ModelEntry,
    ModelsResponse,
)
from signclip.store.store import Store

ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": ErrorResponse} for status in (400, 404, 409, 413, 415, 422, 503)
}

router = APIRouter(responses=ERRORS)


@router.get("/healthz", response_model=HealthResponse, tags=["status"])
async def health(api: ApiDep) -> HealthResponse:
    """Liveness and readiness: the models are loaded and the database answers."""
    await api.with_store(Store.ping)
    return HealthResponse(status="ok", models=api.resources.models.loaded(), database="ok")


@router.get("/api/models", response_model=ModelsResponse, tags=["status"])
async def list_models(api: ApiDep) -> ModelsResponse:
    """The loaded models; the first is the default. `trained: false` marks random weights."""
    served = api.resources.models.models
    return ModelsResponse(models=[ModelEntry.of(model, default=i == 0) for i, model in enumerate(served)])


def dataset_entries(store: Store) -> list[DatasetEntry]:
    """Every dataset of the store as an API entry."""
    return [
        DatasetEntry(name=d.name, items=d.items, embeddings=d.embeddings, vector_type=d.vector_type)
        for d in store.list_datasets()
    ]


@router.get("/api/datasets", response_model=DatasetsResponse, tags=["search"])
async def list_datasets(api: ApiDep) -> DatasetsResponse:
    """Every dataset in the store with its item count, embedding count per model and vector type."""
    return DatasetsResponse(datasets=await api.with_store(dataset_entries))


router.include_router(embedding.router)
router.include_router(searching.router)
router.include_router(recordings.router)
