"""The search use cases, written once: search a dataset, index items into it, read an item's pose.

The CLI (`cli/search.py`), the HTTP API (`serve/routes.py`), the quickstart and the tests call these;
they only parse their input, call, and format the answer.

- `search(store, model, dataset, query, ...)`: embed a text, pose or video query and rank the
  dataset's items (`SearchAnswer`, each hit with a relevance cue, see `relevance.py`).
- `index_items(store, dataset, table, model, options)`: embed and store manifest rows, resumable
  (see `indexer.py`); segments are rows with `start_ms`/`end_ms` and share their recording's pose.
- `item_pose(item)`: an item's pose, cut to its segment; `item_video_path(item)`: its recording's video.
- `choose_model(store, dataset, requested)`: which stored model to search a dataset with; a dataset
  embedded by exactly one model is searched with it by default.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from pose_format import Pose

from signclip.data.table import read_item_pose
from signclip.errors import SignclipError
from signclip.search.indexer import IndexOptions, IndexReport, fingerprint_of, index_manifest
from signclip.search.relevance import Relevance, null_prompts, relevance_of
from signclip.store.errors import ModelMismatchError
from signclip.store.items import Item, SearchResult
from signclip.store.queries import read_video_pose, text_prompt
from signclip.store.store import Store


class ItemNotFoundError(SignclipError):
    """An item id the store does not hold, or an item whose pose file is not there."""


class ModelChoiceError(ModelMismatchError):
    """A search whose model the dataset has no embeddings of, or a dataset of several models and no choice.

    `models` lists the dataset's models, so a caller can offer them.
    """

    def __init__(self, message: str, models: Sequence[str]) -> None:
        super().__init__(message)
        self.models = list(models)


class SearchModel(Protocol):
    """What a search needs from a model (a SignCLIP model, or the server's ServedModel)."""

    @property
    def name(self) -> str: ...

    @property
    def embed_dim(self) -> int: ...

    def embed_texts(self, texts: list[str]) -> np.ndarray: ...

    def embed_poses(self, poses: list, batch_size: int = 32) -> np.ndarray: ...


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

    `relevance` holds one cue per hit (same order); `strong_matches` counts the hits that stand out.
    """

    dataset: str
    model: str
    kind: str
    results: list[SearchResult]
    relevance: list[Relevance]
    text: str | None = None
    prompt: str | None = None
    pose: Pose | None = None

    @property
    def strong_matches(self) -> int:
        """How many hits stand out from the dataset's scores for this query."""
        return sum(cue.strong for cue in self.relevance)


def search(
    store: Store,
    model: SearchModel,
    dataset: str,
    query: Query,
    k: int = 10,
    where: Mapping[str, str | Sequence[str]] | None = None,
    exact: bool | None = None,
    exclude_keys: Collection[str] = (),
    video_to_pose: Callable[[Any], Pose] = read_video_pose,
) -> SearchAnswer:
    """Rank `dataset`'s items by similarity to `query` under `model`'s embeddings; returns the answer.

    Checks first that the dataset has embeddings by this model (ModelChoiceError naming the models it
    has) and that the stored model has these weights. `where` filters on item fields; items whose key is
    in `exclude_keys` (e.g. the query's own item) are left out of the `k` results. A video is turned
    into a pose by `video_to_pose` (the server passes its own, with its limits).
    """
    kind = query.kind
    check_dataset_model(store, dataset, model.name)
    store.check_model(model.name, model.embed_dim, fingerprint_of(model))
    answer = SearchAnswer(dataset=dataset, model=model.name, kind=kind, results=[], relevance=[])
    where = {name: [value] if isinstance(value, str) else list(value) for name, value in (where or {}).items()}
    null_vectors = None
    if kind == "text":
        if not query.text.strip():
            raise SignclipError("the text query is empty")
        wrap = _prompt_wrapper(store, model, dataset, query, where)
        answer.text, answer.prompt = query.text, wrap(query.text)
        vectors = model.embed_texts([answer.prompt, *(wrap(word) for word in null_prompts())])
        vector, null_vectors = vectors[0], vectors[1:]
    else:
        answer.pose = query.pose if kind == "pose" else video_to_pose(query.video)
        vector = model.embed_poses([answer.pose], batch_size=1)[0]
    vector = np.asarray(vector, dtype=np.float32)
    results = store.search(dataset, model.name, vector, k=k + len(exclude_keys), where=where, exact=exact)
    answer.results = [hit for hit in results if hit.key not in exclude_keys][:k]
    scores = [1.0 - hit.distance for hit in answer.results]
    answer.relevance = relevance_of(store, dataset, model.name, scores, null_vectors)
    return answer


def _prompt_wrapper(
    store: Store, model: SearchModel, dataset: str, query: Query, where: Mapping[str, list[str]]
) -> Callable[[str], str]:
    """How a text becomes the model's prompt for this search (the identity when `query.prompt` is off)."""
    if not query.prompt:
        return lambda text: text
    chosen = {**where, **{name: [value] for name, value in query.languages.items() if value}}
    languages = store.languages(dataset)
    return lambda text: text_prompt(model.config.prompt, text, languages, chosen)


def check_dataset_model(store: Store, dataset: str, model: str) -> None:
    """Raise ModelChoiceError when `dataset` has embeddings, but none by `model` (naming those it has)."""
    models = store.dataset_models(dataset)
    if models and model not in models:
        raise ModelChoiceError(
            f"model {model!r} has no embeddings in dataset {dataset!r}, which was indexed with "
            f"{_listing(models)}; {_HOW_TO_CHOOSE}",
            list(models),
        )


def choose_model_name(store: Store, dataset: str, requested: str | None = None) -> str:
    """Return the stored name of the model to search (or evaluate) `dataset` with.

    `requested` (a directory or a name) when given, checked against the dataset's models; else the
    dataset's only model. Raises ModelChoiceError when the dataset has no embeddings yet, or several
    models and none was requested.
    """
    if requested is not None:
        name = stored_model_name(requested)
        check_dataset_model(store, dataset, name)
        return name
    models = store.dataset_models(dataset)
    if len(models) == 1:
        return next(iter(models))
    if not models:
        raise ModelChoiceError(
            f"dataset {dataset!r} has no embeddings yet; run signclip index add --dataset {dataset} ...", []
        )
    raise ModelChoiceError(
        f"dataset {dataset!r} has embeddings of {len(models)} models ({_listing(models)}); {_HOW_TO_CHOOSE}",
        list(models),
    )


def choose_model(store: Store, dataset: str, requested: str | None = None) -> str:
    """Return the model (directory or registered name) to load for searching `dataset`.

    `requested` when given; else the dataset's only model as it was loaded when the dataset was
    indexed (ModelChoiceError when the store does not know from where, and the name alone does not load).
    """
    name = choose_model_name(store, dataset, requested)
    if requested is not None:
        return requested
    source = store.model(name).metadata.get("source")
    if source is None and not _loadable_name(name):
        raise ModelChoiceError(
            f"dataset {dataset!r} was indexed with model {name!r}, whose directory the store does not know "
            "(indexed before signclip recorded where models come from); give it with --model DIRECTORY",
            [name],
        )
    return str(source or name)


def choose_loaded_model(store: Store, dataset: str, loaded: Sequence[str], requested: str | None) -> str | None:
    """For a server with `loaded` model names: the name to search `dataset` with, or None for `requested`.

    With no `requested` model, a dataset of exactly one model is searched with it, if it is loaded.
    Raises ModelChoiceError naming the dataset's models (and the loaded ones) otherwise.
    """
    if requested is not None:
        return None
    models = list(store.dataset_models(dataset))
    if len(models) == 1 and models[0] in loaded:
        return models[0]
    if len(models) == 1:
        raise ModelChoiceError(
            f"dataset {dataset!r} was indexed with model {models[0]!r}, which this server has not loaded "
            f"(loaded: {', '.join(loaded)}); start the server with that model (--model), or index the dataset "
            "with a loaded one",
            models,
        )
    if not models:
        raise ModelChoiceError(f"dataset {dataset!r} has no embeddings yet; index it first", [])
    raise ModelChoiceError(
        f"dataset {dataset!r} has embeddings of {len(models)} models ({_listing(models)}); {_HOW_TO_CHOOSE}",
        models,
    )


_HOW_TO_CHOOSE = (
    "choose one: --model NAME_OR_DIRECTORY on the command line, model_name in the API, the Model menu on the page"
)


def _listing(models: Mapping[str, int] | Sequence[str]) -> str:
    if isinstance(models, Mapping):
        return ", ".join(f"{name} ({count} items)" for name, count in models.items())
    return ", ".join(models)


def _loadable_name(name: str) -> bool:
    """Whether `name` loads without a directory: a registered model or one in the models folder."""
    from signclip.model.config import list_models, local_model_dir

    return name in list_models() or local_model_dir(name) is not None


def stored_model_name(model: str) -> str:
    """Return the name a model's embeddings carry in the store: a model directory's config name, else `model`."""
    config = Path(model) / "config.json"
    if config.is_file():
        try:
            return str(json.loads(config.read_text())["name"])
        except (OSError, ValueError, KeyError) as error:
            raise SignclipError(f"{config}: cannot read the model's name: {error}") from None
    return model


def index_items(
    store: Store, dataset: str, table: pd.DataFrame, model: Any, options: IndexOptions | None = None
) -> IndexReport:
    """Embed and store `table`'s rows (manifest columns) in `dataset`; returns what was done.

    Resumable (finished batches are kept, a rerun does the rest) unless `options.all_or_nothing`, which
    reads and embeds every row before writing anything. Rows with `start_ms`/`end_ms` are segments of
    their recording, whose pose is extracted once.
    """
    return index_manifest(store, dataset, table, model, options or IndexOptions())


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
