"""Which stored model to search (or evaluate) a dataset with: the one asked for, checked against the dataset's
models, or the dataset's only model; and the name a model directory's embeddings carry in the store."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from signclip.errors import SignclipError
from signclip.store.errors import ModelMismatchError
from signclip.store.store import Store


class ModelChoiceError(ModelMismatchError):
    """No model to search (or evaluate) a dataset with, said as a fact; each front end adds how to choose.

    `problem` is one of PROBLEMS: "other" (the model asked for has no embeddings in the dataset), "several"
    (the dataset has several models and none was asked for), "none" (the dataset has no embeddings yet),
    "unknown_source" (the store does not know where the dataset's model loads from), "not_loaded" (a server
    has loaded none of the dataset's models). `models` lists the dataset's models and `loaded` a server's.
    """

    PROBLEMS = ("other", "several", "none", "unknown_source", "not_loaded")

    def __init__(
        self, message: str, problem: str, dataset: str, models: Sequence[str], loaded: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.problem, self.dataset, self.models, self.loaded = problem, dataset, list(models), list(loaded)


def check_dataset_model(models: Mapping[str, int], dataset: str, model: str) -> None:
    """Raise ModelChoiceError ("other") when `dataset`, whose `models` are {name: embeddings}, has embeddings,
    but none by `model`."""
    if models and model not in models:
        raise ModelChoiceError(
            f"model {model!r} has no embeddings in dataset {dataset!r}, which was indexed with {_listing(models)}",
            "other",
            dataset,
            list(models),
        )


def choose_model_name(store: Store, dataset: str, requested: str | None = None) -> str:
    """Return the stored name of the model to search (or evaluate) `dataset` with.

    `requested` (a directory or a name) when given, checked against the dataset's models; else the
    dataset's only model. Raises ModelChoiceError when the dataset has no embeddings yet ("none"), or
    several models and none was requested ("several").
    """
    if requested is not None:
        name = stored_model_name(requested)
        check_dataset_model(store.dataset_models(dataset), dataset, name)
        return name
    models = store.dataset_models(dataset)
    if len(models) == 1:
        return next(iter(models))
    raise _no_single_model(dataset, models)


def choose_model(store: Store, dataset: str, requested: str | None = None) -> str:
    """Return the model (directory or registered name) to load for searching `dataset`.

    `requested` when given; else the dataset's only model as it was loaded when the dataset was indexed
    (ModelChoiceError "unknown_source" when the store does not know from where, and the name alone does
    not load).
    """
    name = choose_model_name(store, dataset, requested)
    if requested is not None:
        return requested
    source = store.model(name).metadata.get("source")
    if source is None and not _loadable_name(name):
        raise ModelChoiceError(
            f"dataset {dataset!r} was indexed with model {name!r}, whose directory the store does not know "
            "(indexed before signclip recorded where models come from)",
            "unknown_source",
            dataset,
            [name],
        )
    return str(source or name)


def choose_loaded_model(
    models: Mapping[str, int], dataset: str, loaded: Sequence[str], requested: str | None
) -> str | None:
    """For a server with `loaded` model names (default first): the name to search `dataset`, whose `models`
    are {name: embeddings}, with, or None for `requested`.

    With no `requested` model, the first loaded model that the dataset has embeddings of. Raises
    ModelChoiceError ("none", or "not_loaded" naming the dataset's models and the loaded ones) otherwise.
    """
    if requested is not None:
        return None
    served = [name for name in loaded if name in models]
    if served:
        return served[0]
    if not models:
        raise _no_single_model(dataset, models)
    raise ModelChoiceError(
        f"dataset {dataset!r} was indexed with {_listing(models)}, none of which this server has loaded "
        f"(loaded: {', '.join(loaded)})",
        "not_loaded",
        dataset,
        list(models),
        loaded,
    )


def _no_single_model(dataset: str, models: Mapping[str, int]) -> ModelChoiceError:
    if not models:
        return ModelChoiceError(f"dataset {dataset!r} has no embeddings yet", "none", dataset, [])
    return ModelChoiceError(
        f"dataset {dataset!r} has embeddings of {len(models)} models ({_listing(models)})",
        "several",
        dataset,
        list(models),
    )


def _listing(models: Mapping[str, int] | Sequence[str]) -> str:
    if isinstance(models, Mapping):
        return ", ".join(f"{name} ({count} items)" for name, count in models.items())
    return ", ".join(models)


def _loadable_name(name: str) -> bool:
    """Whether `name` loads without a directory: a registered model or one in the models folder."""
    from signclip.model.config import TRAINING_FREE_MODELS, list_models, local_model_dir

    return name in list_models() or name in TRAINING_FREE_MODELS or local_model_dir(name) is not None


def stored_model_name(model: str) -> str:
    """Return the name a model's embeddings carry in the store: a model directory's config name, else `model`."""
    config = Path(model) / "config.json"
    if config.is_file():
        try:
            return str(json.loads(config.read_text())["name"])
        except (OSError, ValueError, KeyError) as error:
            raise SignclipError(f"{config}: cannot read the model's name: {error}") from None
    return model
