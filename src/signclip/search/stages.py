"""The indexing stages after validation, each with one typed signature; `service.index_items` runs them in order:

    validate (request.py) -> pose jobs (planning.py) -> extracted poses -> segments -> stored items
    -> embeddings -> stored vectors -> ANN index

The heavy work (extract, segment, embed) is the engine's (engine.py), so the same stages run on this
machine or on Ray. Resumable: items already embedded by the model are skipped (unless `force`), videos
whose pose file exists are not extracted again, and each batch of vectors is committed on its own, so an
interrupted run keeps every finished batch and a rerun does only the rest. `store_all_or_nothing` is the
other ending: every row embedded first, then items and vectors in one transaction.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from signclip.data.manifest import MANIFEST_COLUMNS
from signclip.errors import SignclipError
from signclip.search.engine import EMBED_COLUMNS, Engine
from signclip.search.index_report import IndexReport
from signclip.search.planning import attach_poses, plan_pose_jobs
from signclip.search.request import IndexRequest
from signclip.search.segmenting import is_stale_segment
from signclip.store.indexes import GraphSettings
from signclip.store.store import Store

BULK_LOAD_ROWS = 10_000  # a load at least this large, and larger than what the model holds, drops and rebuilds HNSW


def extracted_poses(request: IndexRequest, poses_dir: Path, engine: Engine, report: IndexReport) -> pd.DataFrame:
    """The request's rows with every pose file in place: video rows extracted by the engine into `poses_dir`
    (those already extracted are not run again); rows without a pose go to `report.failed`."""
    plan = plan_pose_jobs(request.rows, poses_dir)
    if plan.jobs:
        started = time.perf_counter()
        extraction = engine.extract(plan.jobs, request.options.progress)
        report.extract_seconds = time.perf_counter() - started
        report.extracted = len(extraction.written)
        plan = attach_poses(plan, extraction)
    report.failed += plan.failed
    return plan.rows


def segmented(
    request: IndexRequest, rows: pd.DataFrame, engine: Engine, report: IndexReport
) -> tuple[pd.DataFrame, list[str]]:
    """The items of `rows`: the rows themselves, or with segmentation the segment rows of each recording
    (with a `metadata` column) and the keys of the recordings segmented (with or without segments)."""
    report.items = len(rows)
    segmentation = request.segmentation
    if segmentation is None:
        return rows, []
    started = time.perf_counter()
    outcomes = engine.segment(rows.to_dict(orient="records"), segmentation, request.options.progress)
    report.segment_seconds = time.perf_counter() - started
    segment_rows, recordings = [], []
    for outcome in outcomes:
        if outcome.error:
            report.failed.append((outcome.id, outcome.error))
            continue
        recordings.append(outcome.id)
        if outcome.unsegmented:
            report.unsegmented.append((outcome.id, outcome.unsegmented))
        segment_rows += outcome.rows
    report.segmenter, report.recordings = segmentation.segmenter.name, len(request.rows)
    report.items = len(segment_rows)
    return pd.DataFrame(segment_rows, columns=[*MANIFEST_COLUMNS, "metadata"]), recordings


def stored_items(
    store: Store, request: IndexRequest, rows: pd.DataFrame, recordings: list[str], report: IndexReport
) -> dict[str, int]:
    """Register the model and upsert the items (segments of `recordings` that a re-segmentation no longer has
    are removed); returns {manifest id: item id}."""
    model = request.model
    store.register_model(model.name, model.embed_dim, _model_metadata(request))
    item_ids = store.add_items(request.dataset, rows, normalized=True)
    report.item_ids = [int(i) for i in item_ids]
    report.removed = _remove_stale_segments(store, request, rows, recordings)
    return dict(zip(rows["id"].astype(str), report.item_ids, strict=True))


def pending_rows(store: Store, request: IndexRequest, item_of: dict[str, int], report: IndexReport) -> pd.DataFrame:
    """The stored items of this run that the model has not embedded yet (all of them with `force`), as
    EMBED_COLUMNS rows with their `item_id`."""
    pending_model = None if request.options.force else request.model.name
    items = store.items(request.dataset, pending_model=pending_model)
    items = items[items["item_id"].isin(set(item_of.values()))].reset_index(drop=True)
    report.already_embedded = len(item_of) - len(items)
    return items.rename(columns={"key": "id"})[["item_id", *EMBED_COLUMNS]]


def stored_vectors(
    store: Store, request: IndexRequest, pending: pd.DataFrame, engine: Engine, report: IndexReport
) -> None:
    """Embed the pending rows on the engine and commit each batch of vectors as it comes; a load large enough
    (BULK_LOAD_ROWS, and more than the model holds) drops the model's HNSW index first (rebuilt after)."""
    if pending.empty:
        return
    model, options = request.model, request.options
    item_of = dict(zip(pending["id"].astype(str), pending["item_id"], strict=True))
    if len(pending) >= BULK_LOAD_ROWS and len(pending) > store.embedding_count(model.name):
        store.drop_index(model.name)
        report.bulk_load = True
    batches = engine.embed(pending, model, options.batch_size, options.progress)
    with tqdm(total=len(pending), desc=f"indexing {request.dataset}", unit="item", disable=not options.progress) as bar:
        while True:
            started = time.perf_counter()
            batch = next(batches, None)
            report.embed_seconds += time.perf_counter() - started
            if batch is None:
                break
            report.failed += batch.failed
            started = time.perf_counter()
            if batch.keys:
                store.add_embeddings(model.name, [item_of[key] for key in batch.keys], batch.vectors)
            report.store_seconds += time.perf_counter() - started
            report.embedded += len(batch.keys)
            bar.update(batch.rows)


def ann_index(store: Store, request: IndexRequest, report: IndexReport) -> None:
    """Build the model's HNSW index if it has none (or rebuild it with the options' other graph settings) when
    the run stored or found any of its vectors."""
    if report.embedded or report.already_embedded:
        started = time.perf_counter()
        before = _graphs(store, request.model.name)
        report.index_built = store.build_index(request.model.name, graph=request.options.graph)
        if report.index_built:
            report.index_graph = str(store.model_graph(request.model.name))
            after = _graphs(store, request.model.name)
            report.index_rebuilt = any(after[key] != graph for key, graph in before.items())
        report.index_seconds = time.perf_counter() - started


def _graphs(store: Store, model: str) -> dict[tuple[str, str], GraphSettings]:
    """The graph settings of each of `model`'s HNSW indexes, by (metric, vector type)."""
    return {(info.metric, info.vector_type): info.graph for info in store.list_indexes(model)}


def store_all_or_nothing(
    store: Store, request: IndexRequest, rows: pd.DataFrame, recordings: list[str], engine: Engine, report: IndexReport
) -> None:
    """Embed every row, then store the items and their vectors in one transaction; SignclipError naming the
    first row at fault (a recording without segments counts) with nothing written."""
    problems = report.failed + report.unsegmented
    if problems:
        raise _nothing_indexed(problems, "recording" if request.segmentation else "item")
    if rows.empty:
        raise SignclipError(f"dataset {request.dataset!r}: no items to index; nothing was indexed")
    started = time.perf_counter()
    batches = list(engine.embed(rows, request.model, request.options.batch_size, request.options.progress))
    report.embed_seconds = time.perf_counter() - started
    failed = [problem for batch in batches for problem in batch.failed]
    if failed:
        raise _nothing_indexed(failed, "item")
    vectors = {key: vector for batch in batches for key, vector in zip(batch.keys, batch.vectors, strict=True)}
    model = request.model
    with store.transaction():
        store.register_model(model.name, model.embed_dim, _model_metadata(request))
        item_ids = store.add_items(request.dataset, rows, normalized=True)
        store.add_embeddings(model.name, item_ids, np.stack([vectors[key] for key in rows["id"].astype(str)]))
    report.item_ids = [int(i) for i in item_ids]
    report.embedded = len(rows)
    report.removed = _remove_stale_segments(store, request, rows, recordings)


def _nothing_indexed(problems: list[tuple[str, str]], what: str) -> SignclipError:
    key, message = problems[0]
    more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
    return SignclipError(f"{what} {key!r}: {message}{more}; nothing was indexed")


def _model_metadata(request: IndexRequest) -> dict[str, str | None]:
    """What the store keeps with a new model: its fingerprint, its metric, and where it loads from."""
    model = request.model
    metadata = {"fingerprint": model.fingerprint, "metric": model.metric}
    return metadata | ({"source": model.source} if model.source else {})


def _remove_stale_segments(store: Store, request: IndexRequest, rows: pd.DataFrame, recordings: list[str]) -> int:
    """Delete the stored segments of `recordings` that this run's rows no longer have; returns how many."""
    if not recordings or request.segmentation is None:
        return 0
    wanted, current, level = set(recordings), set(rows["id"].astype(str)), request.segmentation.level
    keys = store.items(request.dataset)["key"].astype(str)
    return store.remove_items(request.dataset, [key for key in keys if is_stale_segment(key, wanted, level, current)])
