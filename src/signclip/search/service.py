"""The search use cases, written once: index items into a dataset, search it, read an item's pose.

The CLI (`cli/search.py`), the HTTP API (`serve/`), the quickstart and the tests call these; they only
parse their input, call, and format the answer.

- `index_items(store, dataset, table, model, options, engine)`: the indexing stages in order (see
  stages.py); resumable, or all or nothing.
- `search(store, model, dataset, query, ...)`: embed a text, pose or video query and rank the dataset's
  items (`SearchAnswer`, each hit with a relevance cue, see `relevance.py`).
- `item_pose(item)`: an item's pose, cut to its segment; `item_video_path(item)`: its recording's video.
Which model searches a dataset is chosen in `models.py`.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from pose_format import Pose

from signclip.data.table import read_item_pose
from signclip.errors import SignclipError
from signclip.model.identity import model_fingerprint
from signclip.model.pose_dtw import text_search_error
from signclip.search import stages
from signclip.search.cache import SearchCache
from signclip.search.engine import Engine, LocalEngine
from signclip.search.index_report import IndexReport
from signclip.search.models import check_dataset_model
from signclip.search.queries import read_video_pose, text_prompt
from signclip.search.relevance import SAMPLE_SIZE, NullScores, Relevance, null_prompts, null_scores, similarity
from signclip.search.request import IndexRequest, check_against_store
from signclip.search.rerank import Rerank, Reranked, RerankError, query_sequence
from signclip.search.rerank import rerank as rerank_candidates
from signclip.store.items import DatasetState, Item, SearchResult
from signclip.store.store import Store


class ItemNotFoundError(SignclipError):
    """An item id the store does not hold, or an item whose pose file is not there."""


class SearchModel(Protocol):
    """What a search needs from a model (a SignCLIP model, or the server's ServedModel)."""

    @property
    def name(self) -> str: ...

    @property
    def embed_dim(self) -> int: ...

    def embed_texts(self, texts: list[str]) -> np.ndarray: ...

    def embed_poses(self, poses: list) -> np.ndarray: ...


@dataclass(frozen=True)
class Query:
    """What to search with: exactly one of `text`, `pose` (a read Pose) or `video` (a video file, or
    whatever the `video_to_pose` given to `search` reads, e.g. the server's checked upload).

    A text is wrapped in the model's prompt template unless `prompt` is False; `languages`
    ({"spoken_language": ..., "signed_language": ...}) fill the template before the filters and the
    dataset's own languages do.
    """

    text: str | None = None
    pose: Pose | None = None
    video: str | os.PathLike | Any = None
    prompt: bool = True
    languages: Mapping[str, str] = field(default_factory=dict)

    @property
    def kind(self) -> str:
        """ "text", "pose" or "video"; SignclipError unless exactly one is given."""
        given = [name for name in ("text", "pose", "video") if getattr(self, name) is not None]
        if len(given) != 1:
            raise SignclipError(f"give exactly one query (text, pose or video), got {given or 'none'}")
        return given[0]


@dataclass
class SearchAnswer:
    """A finished search: what was searched (the prompt, or the query pose) and the ranked hits.

    `relevance` holds one cue per hit (same order); `strong_matches` counts the hits that stand out;
    `reranked` says how the candidates were re-ranked by DTW (None when they were not); `empty_reason` says
    why there are no hits ("" when there are).
    """

    dataset: str
    model: str
    kind: str
    results: list[SearchResult]
    relevance: list[Relevance]
    text: str | None = None
    prompt: str | None = None
    pose: Pose | None = None
    reranked: Reranked | None = None
    empty_reason: str = ""

    @property
    def strong_matches(self) -> int:
        """How many hits stand out from the dataset's scores for this query."""
        return sum(cue.strong for cue in self.relevance)

    @property
    def cue_undefined(self) -> str:
        """Why the hits have no relevance cue ("" when they have one)."""
        return self.relevance[0].undefined if self.relevance else ""


def search(
    store: Store,
    model: SearchModel,
    dataset: str | DatasetState,
    query: Query,
    k: int = 10,
    where: Mapping[str, str | Sequence[str]] | None = None,
    exact: bool | None = None,
    exclude_keys: Collection[str] = (),
    video_to_pose: Callable[[Any], Pose] = read_video_pose,
    cache: SearchCache | None = None,
    rerank: Rerank | None = None,
) -> SearchAnswer:
    """Rank `dataset`'s items by similarity to `query` under `model`'s embeddings; returns the answer.

    Checks first that the dataset has embeddings by this model (ModelChoiceError naming the models it
    has) and that the stored model has these weights. `where` filters on item fields; items whose key is
    in `exclude_keys` (e.g. the query's own item) are left out of the `k` results. A video is turned
    into a pose by `video_to_pose` (the server passes its own, with its limits). The dataset is looked up
    once (not at all when given as the DatasetState of a lookup); what the search derives from it (its
    models and languages, the relevance null sample) comes from `cache` while the dataset is unchanged
    (the server keeps one; without it, this search's own). A pose or video query's top `rerank.candidates`
    are re-ranked by DTW (see rerank.py) when `rerank` says "dtw" (default: for the training-free index).
    """
    kind = query.kind
    cache = cache or SearchCache()
    state = dataset if isinstance(dataset, DatasetState) else store.dataset_state(dataset)
    dataset = state.name
    models = dataset_models(store, state, cache)
    check_dataset_model(models, dataset, model.name)
    store.check_model(model.name, model.embed_dim, model_fingerprint(model))
    metric = store.metric_of(model.name)
    answer = SearchAnswer(dataset=dataset, model=model.name, kind=kind, results=[], relevance=[])
    where = {name: [value] if isinstance(value, str) else list(value) for name, value in (where or {}).items()}
    training_free = not getattr(model, "embeds_texts", True)
    query_dtw = None
    rerank = rerank or Rerank("dtw" if training_free and kind != "text" else "none")
    if kind == "text":
        if rerank.method != "none":
            raise RerankError("re-ranking by DTW takes a pose or video query, not a text")
        if training_free:
            raise text_search_error(model.name)
        if not query.text.strip():
            raise SignclipError("the text query is empty")
        languages = cache.get((state.id, state.version, "languages"), lambda: store.languages(state))
        wrap = _prompt_wrapper(model, languages, query, where)
        answer.text, answer.prompt = query.text, wrap(query.text)
        vector = model.embed_texts([answer.prompt])[0]
        prompts = tuple(wrap(word) for word in null_prompts())
        null_key = (state.id, state.version, model.name, prompts)
        null = cache.get(null_key, lambda: null_scores(_sample(store, state, model.name), model.embed_texts(prompts)))
    else:
        answer.pose = query.pose if kind == "pose" else video_to_pose(query.video)
        if rerank.method == "dtw":
            query_dtw = query_sequence(answer.pose)
        if training_free and query_dtw is not None:  # the index's vector is made of the same DTW features
            vector = model.features(query_dtw[0])
        else:
            vector = model.embed_poses([answer.pose])[0]
        null_key = (state.id, state.version, model.name, "pose")
        null = cache.get(null_key, lambda: null_scores(_sample(store, state, model.name), metric=metric))
    vector = np.asarray(vector, dtype=np.float32)
    wanted, note = k + len(exclude_keys), ""
    if rerank.method == "dtw":
        asked = rerank.candidate_count(state, model.name, training_free)
        wanted = max(wanted, min(asked, models[model.name]))
        if wanted < asked:
            note = f"{asked} candidates asked for, but the dataset has {models[model.name]} items"
    ids, distances = store.nearest(state, model.name, vector, wanted, where=where, exact=exact)
    dtw_distances = None
    if rerank.method == "dtw" and len(ids):
        order, dtw_distances, answer.reranked = rerank_candidates(
            store, state, model.name, answer.pose, query_dtw, ids, similarity(distances, metric), rerank, training_free
        )
        answer.reranked.note = note
        ids, distances, dtw_distances = ids[order], distances[order], dtw_distances[order]
    results = []
    for position, item in enumerate(store.items_by_id(ids[: k + len(exclude_keys)])):
        if item.key not in exclude_keys and len(results) < k:
            dtw = None if dtw_distances is None else float(dtw_distances[position])
            scored = {"distance": float(distances[position]), "dtw_distance": dtw}
            results.append(SearchResult.from_record({**item.to_dict(), **scored}))
    answer.results = results
    if not results:
        answer.empty_reason = _why_empty(store, state, model.name, where, exclude_keys, len(ids))
    if getattr(model, "trained", None) is False:
        null = NullScores.without_cue("the model is untrained (random weights): its scores carry no meaning")
    answer.relevance = null.standing(similarity([hit.distance for hit in results], metric))
    return answer


def _why_empty(
    store: Store, state: DatasetState, model: str, where: Mapping[str, list[str]], excluded: Collection[str], found: int
) -> str:
    """Why a search found no hits: the filter matches no item, the matches were excluded, or none is embedded."""
    if found and excluded:
        return "every match was left out as the query's own item"
    filters = ", ".join(f"{name}={'|'.join(values)}" for name, values in where.items())
    if where and not store.count_items(state, where):
        return f"no item of '{state.name}' has {filters}"
    scope = f"of the items with {filters} " if where else ""
    return f"none {scope}has an embedding by model '{model}' yet"


def dataset_models(store: Store, state: DatasetState, cache: SearchCache) -> dict[str, int]:
    """{model name: embeddings} of the dataset as `state` found it, from `cache` while it is unchanged."""
    return cache.get((state.id, state.version, "models"), lambda: store.dataset_models(state))


def _sample(store: Store, state: DatasetState, model: str) -> np.ndarray:
    """The dataset's sample of item vectors for the null scores: (at most SAMPLE_SIZE, D)."""
    return store.vectors(state, model, limit=SAMPLE_SIZE)[1]


def _prompt_wrapper(
    model: SearchModel, languages: list[tuple[str, str, int]], query: Query, where: Mapping[str, list[str]]
) -> Callable[[str], str]:
    """How a text becomes the model's prompt for this search (the identity when `query.prompt` is off)."""
    if not query.prompt:
        return lambda text: text
    chosen = {**where, **{name: [value] for name, value in query.languages.items() if value}}
    return lambda text: text_prompt(model.config.prompt, text, languages, chosen)


def index_items(store: Store, request: IndexRequest, engine: Engine | None = None) -> IndexReport:
    """Index a validated request (`validate_index_request`: its rows, model and options); returns what each
    stage did.

    The model is checked against the store first; then poses are extracted, recordings segmented (with
    `options.segment`), items stored, embedded and their vectors stored, and the ANN index built.
    `engine` runs the heavy stages (default: this machine). Rows that cannot be read or embedded are
    reported, not fatal, unless `options.all_or_nothing`, which stores nothing then.
    """
    started = time.perf_counter()
    check_against_store(store, request)
    engine = engine or LocalEngine(request.options.workers)
    report = IndexReport(dataset=request.dataset, model=request.model.name, items=len(request.rows))
    with engine.session():
        rows = stages.extracted_poses(request, request.poses_folder(store), engine, report)
        rows, recordings = stages.segmented(request, rows, engine, report)
        if request.options.all_or_nothing:
            stages.store_all_or_nothing(store, request, rows, recordings, engine, report)
        else:
            item_of = stages.stored_items(store, request, rows, recordings, report)
            pending = stages.pending_rows(store, request, item_of, report)
            stages.stored_vectors(store, request, pending, engine, report)
            stages.ann_index(store, request, report)
    report.seconds = time.perf_counter() - started
    return report


def stored_item(store: Store, item_id: int) -> Item:
    """Return item `item_id`; ItemNotFoundError when the store has none."""
    item = store.item(item_id)
    if item is None:
        raise ItemNotFoundError(f"item {item_id}: no such item in the store")
    return item


def item_pose_path(item: Item) -> Path:
    """Return the item's pose file; ItemNotFoundError when it has none (yet) or the file is gone."""
    return _item_file(item, item.pose_path, "pose file", "its video was not extracted yet")


def item_video_path(item: Item) -> Path:
    """Return the video file of the item's recording; ItemNotFoundError when it has none or the file is gone."""
    return _item_file(item, item.video_path, "video file", "")


def _item_file(item: Item, path: str, what: str, why_none: str) -> Path:
    if not path:
        raise ItemNotFoundError(f"item {item.item_id}: has no {what}" + (f" ({why_none})" if why_none else ""))
    if not Path(path).is_file():
        raise ItemNotFoundError(f"item {item.item_id}: its {what} is missing on the server")
    return Path(path)


def item_pose(item: Item) -> Pose:
    """Read the item's pose, cut to its segment when it is one (missing points kept as NaN)."""
    return read_item_pose({**item.to_dict(), "pose_path": str(item_pose_path(item))}, allow_nan=True)
