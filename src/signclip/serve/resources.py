"""What one server process holds: the loaded models, a pool of database connections, a pose extractor, and
the search cache.

All of them are created by the app's lifespan and kept in `app.state.resources`; nothing is global.
Work on them is blocking (torch, PostgreSQL, MediaPipe) and runs in worker threads, so each is
guarded: a lock per model and for the extractor, one Store (connection) per thread at a time.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from pose_format import Pose

from signclip.errors import SignclipError
from signclip.search.cache import SearchCache
from signclip.serve.batching import Batcher, BatchingSettings
from signclip.store.embedded_postgres import EmbeddedPostgres, default_home
from signclip.store.errors import StoreError
from signclip.store.indexes import DEFAULT_EF_SEARCH, check_ef_search
from signclip.store.store import Store

DEFAULT_MODEL_ALIAS = "default"
RESTART_ATTEMPTS = 3
log = logging.getLogger("signclip.serve")


class UnknownModelNameError(SignclipError):
    """A model name the server has not loaded."""


class ServiceUnavailableError(SignclipError):
    """The server cannot answer now (database down or busy, or work past the time limit); not the client's fault."""


@dataclass
class ServedModel:
    """A loaded SignCLIP model with the names it answers to and a lock serializing its use.

    `name` is the model's config name, under which its embeddings are stored in the database;
    `source` the directory or registered name it was loaded from.
    """

    model: object
    aliases: list[str]
    source: str = ""
    lock: threading.Lock = field(default_factory=threading.Lock)
    batcher: Batcher | None = None

    @property
    def name(self) -> str:
        """The model's config name."""
        return self.model.name

    @property
    def embed_dim(self) -> int:
        """The size of its embeddings."""
        return self.model.embed_dim

    @property
    def metric(self) -> str:
        """The distance its vectors are compared by ("cosine", or "l2" for the training-free index)."""
        return getattr(self.model, "metric", "cosine")

    @property
    def embeds_texts(self) -> bool:
        """Whether it embeds texts (the training-free index does not)."""
        return getattr(self.model, "embeds_texts", True)

    @property
    def config(self) -> object:
        """The model's configuration (its prompt template among others)."""
        return self.model.config

    @functools.cached_property
    def warning(self) -> str | None:
        """Why the model's answers mean nothing (untrained weights), or None."""
        from signclip.model.identity import untrained_warning

        return untrained_warning(self.model)

    @property
    def trained(self) -> bool:
        """Whether the model has trained (or converted) weights."""
        return self.warning is None

    @functools.cached_property
    def known_fingerprint(self) -> str | None:
        """A hash of the model's weights (see `model_fingerprint`), computed once for the server's life."""
        from signclip.model.identity import model_fingerprint

        with self.lock:
            return model_fingerprint(self.model)

    @property
    def prompt(self) -> str:
        """The prompt template the model was trained with (a name or a template string)."""
        return self.model.config.prompt

    def embed_texts(self, texts: Sequence[str], normalize: bool = True) -> np.ndarray:
        """Embed texts into (N, embed_dim) float32, L2-normalized unless `normalize` is False (the raw vectors);
        in a pass shared with concurrent requests while batching is on (`start_batching`)."""
        if self.batcher is not None:
            return self.batcher.embed("texts", texts, normalize)
        return self.embed_now("texts", list(texts), normalize)

    def embed_poses(self, poses: Sequence[Pose], batch_size: int = 32, normalize: bool = True) -> np.ndarray:
        """Preprocess and embed Poses into (N, embed_dim) float32, L2-normalized unless `normalize` is False.

        While batching is on (`start_batching`), the preprocessing runs here, beside other requests', and
        the forward pass is shared with them (a model without separate preprocessing shares it whole; the
        vectors do not depend on `batch_size`, which then does not apply)."""
        if self.batcher is None:
            with self.lock:
                return self.model.embed_poses(list(poses), batch_size=batch_size, normalize=normalize)
        if hasattr(self.model, "embed_pose_tensors"):
            return self.batcher.embed("pose_tensors", [self.model.preprocess(pose) for pose in poses], normalize)
        return self.batcher.embed("poses", poses, normalize)

    def embed_now(self, kind: str, items: list, normalize: bool) -> np.ndarray:
        """Embed `items` (of a `batching.KINDS` kind) in this thread, holding the model's lock: (N, embed_dim)
        float32."""
        with self.lock:
            if kind == "texts":
                return self.model.embed_texts(items, normalize=normalize)
            if kind == "pose_tensors":
                return self.model.embed_pose_tensors(items, normalize=normalize)
            return self.model.embed_poses(items, normalize=normalize)

    def start_batching(self, settings: BatchingSettings) -> None:
        """Share forward passes between concurrent requests from now on (nothing when `settings` turn it off)."""
        if settings.enabled and self.batcher is None:
            self.batcher = Batcher(self.embed_now, settings, name=self.name)

    def stop_batching(self) -> None:
        """Embed each request in its caller's thread again; requests still queued are refused."""
        batcher, self.batcher = self.batcher, None
        if batcher is not None:
            batcher.close()


class ModelRegistry:
    """The models of one process, by alias, config name and "default" (the first one loaded)."""

    def __init__(self, models: Sequence[ServedModel]) -> None:
        if not models:
            raise SignclipError("the server needs at least one model")
        self.models = list(models)
        self._by_name: dict[str, ServedModel] = {}
        for served in self.models:
            for name in (*served.aliases, served.name):
                self._by_name.setdefault(name, served)
        self._by_name[DEFAULT_MODEL_ALIAS] = self.models[0]

    @classmethod
    def load(cls, specs: Sequence[tuple[str | None, str]], loader: Callable[[str], object]) -> ModelRegistry:
        """Load each (alias or None, path or name) with `loader` (e.g. signclip.load_model), default first.

        A path named twice (under two aliases) is loaded once.
        """
        by_path: dict[str, ServedModel] = {}
        for alias, path in specs:
            if path not in by_path:
                by_path[path] = ServedModel(loader(path), [], source=path)
            if alias:
                by_path[path].aliases.append(alias)
        return cls(list(by_path.values()))

    @property
    def default(self) -> ServedModel:
        """The first model loaded."""
        return self.models[0]

    def get(self, name: str | None) -> ServedModel:
        """Return the model called `name` (None = the default); UnknownModelNameError lists the names known."""
        if name is None:
            return self.default
        if name not in self._by_name:
            raise UnknownModelNameError(f"model_name {name!r} is not loaded; use one of {self.names()}")
        return self._by_name[name]

    def names(self) -> list[str]:
        """Return every name a model answers to, sorted."""
        return sorted(self._by_name)

    def loaded(self) -> list[str]:
        """Return the config names of the loaded models, default first."""
        return [served.name for served in self.models]


class StorePool:
    """Up to `size` open Stores (database connections), each lent to one thread at a time.

    The pool holds one lease on the embedded server in `home` (when no database URL is given) for its
    whole life, so the Stores connect by URL and closing one never stops the server under the others.
    When that embedded server has died, the next request restarts it (RESTART_ATTEMPTS tries, logged);
    a server given by URL is not ours to restart: requests get a 503 with the reason.
    """

    def __init__(
        self, database_url: str | None, home: str | Path | None, size: int = 4, ef_search: int = DEFAULT_EF_SEARCH
    ) -> None:
        self._ef_search = check_ef_search(ef_search)
        self._server = None
        if database_url is None:
            self._server = EmbeddedPostgres(home)
            database_url = self._server.acquire()
        self._url = database_url
        self.home = Path(home).expanduser() if home is not None else default_home()
        self._idle: queue.LifoQueue[Store] = queue.LifoQueue()
        self._slots = threading.BoundedSemaphore(size)
        self._open: list[Store] = []
        self._lock = threading.Lock()

    @contextmanager
    def store(self, timeout: float | None = None) -> Iterator[Store]:
        """Lend a Store for the block, waiting up to `timeout` seconds (None: as long as it takes) for a free one.

        A Store whose connection broke is closed, not reused.
        """
        if not self._slots.acquire(timeout=timeout):
            raise ServiceUnavailableError("the database is busy: no connection became free in time")
        try:
            self._revive_embedded_server()
            try:
                store = self._idle.get_nowait()
            except queue.Empty:
                try:
                    store = Store.open(database_url=self._url, home=self.home, ef_search=self._ef_search)
                except StoreError as error:
                    raise ServiceUnavailableError(str(error)) from None
                with self._lock:
                    self._open.append(store)
            try:
                yield store
            finally:
                if store.closed:
                    self._discard(store)
                else:
                    self._idle.put(store)
        finally:
            self._slots.release()

    def _revive_embedded_server(self) -> None:
        """Restart the embedded server this pool started if it is no longer running (bounded retries)."""
        if self._server is None or self._server.running():
            return
        with self._lock:
            if self._server.running():
                return
            log.warning("the embedded PostgreSQL server in %s is not running; restarting it", self._server.data_dir)
            self._drop_idle()
            for attempt in range(1, RESTART_ATTEMPTS + 1):
                try:
                    self._url = self._server.acquire()
                    log.warning("restarted the embedded PostgreSQL server (attempt %d)", attempt)
                    return
                except SignclipError as error:
                    log.error("restarting the embedded PostgreSQL server failed (attempt %d): %s", attempt, error)
                    time.sleep(0.5 * attempt)
        raise ServiceUnavailableError(
            f"the embedded PostgreSQL server in {self._server.data_dir} died and did not restart after "
            f"{RESTART_ATTEMPTS} attempts; see its log in that folder"
        )

    def _drop_idle(self) -> None:
        """Close the idle Stores (their connections went with the server); called with the lock held."""
        while True:
            try:
                store = self._idle.get_nowait()
            except queue.Empty:
                return
            store.close()
            self._open.remove(store)

    def _discard(self, store: Store) -> None:
        store.close()
        with self._lock:
            self._open.remove(store)

    def close(self) -> None:
        """Close every Store and release the embedded server lease."""
        with self._lock:
            stores, self._open = self._open, []
        for store in stores:
            store.close()
        if self._server is not None:
            self._server.release()
            self._server = None


class PoseExtractor:
    """One MediaPipe Holistic estimator, created on first use and used by one thread at a time."""

    def __init__(self) -> None:
        self._estimator = None
        self._lock = threading.Lock()

    def video_to_pose(self, path: Path, fps: float | None = None) -> Pose:
        """Extract the Holistic Pose of the video at `path` (see signclip.poses.extract.video_to_pose)."""
        if importlib.util.find_spec("mediapipe") is None:
            raise ServiceUnavailableError(
                "this server cannot extract poses from videos: install the video extra (pip install 'signclip[video]')"
            )
        from signclip.poses.extract import HolisticEstimator, video_to_pose

        with self._lock:
            if self._estimator is None:
                self._estimator = HolisticEstimator()
            return video_to_pose(path, fps=fps, estimator=self._estimator)

    def close(self) -> None:
        """Free the MediaPipe graph, if one was loaded."""
        with self._lock:
            if self._estimator is not None:
                self._estimator.close()
                self._estimator = None


@dataclass
class Resources:
    """Everything the request handlers share in one process: the models, the database connections, the
    pose extractor, and what searches of an unchanged dataset share (`SearchCache`)."""

    models: ModelRegistry
    stores: StorePool
    extractor: PoseExtractor
    search_cache: SearchCache = field(default_factory=SearchCache)

    def close(self) -> None:
        """Stop batching, free the extractor and the database connections."""
        for served in self.models.models:
            served.stop_batching()
        self.extractor.close()
        self.stores.close()
