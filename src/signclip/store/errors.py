"""The search store's errors (all SignclipError: the CLI prints them without a traceback)."""

from signclip.errors import SignclipError


class StoreError(SignclipError):
    """A store operation that cannot be done: unknown dataset or model, wrong dimension, bad filter."""


class UnknownDatasetError(StoreError):
    """A dataset name that the store does not hold."""


class UnknownModelError(StoreError):
    """A model name with no embeddings in the store."""


class DimensionMismatchError(StoreError):
    """Vectors whose dimension differs from the model's stored embeddings."""


class ModelMismatchError(StoreError):
    """A model whose weights differ from those of the stored model of the same name."""
