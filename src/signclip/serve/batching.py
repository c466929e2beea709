"""Dynamic batching: embedding requests to one model that arrive together share one forward pass.

A `Batcher` owns one worker thread for one served model. `embed(kind, items, normalize)` queues a request
(texts, poses, or poses already preprocessed by the caller's thread) and blocks until its vectors are
ready. The worker takes the oldest request, then the requests of the same kind and normalization that are
waiting (up to `max_batch` items in all, waiting at most `max_wait_ms` for more while the batch is short),
runs one embed call over all their items, and hands each request its own rows. Requests keep arriving
while a forward pass runs, so under load batches fill without any wait; a lone request waits
`max_wait_ms` at most.

The rows are a lone request's: both towers mask their padding (tests/serve/test_batching.py checks it to
1e-6, in any arrival order). When a shared call fails, each of its requests runs alone, so a malformed pose
fails its own request only. A request larger than `max_batch` runs alone, whole.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from signclip.errors import ConfigError, SignclipError

KINDS = ("texts", "poses", "pose_tensors")  # pose_tensors: preprocessed by the caller (PoseTensor)
Embed = Callable[[str, list[Any], bool], np.ndarray]  # (kind, items, normalize) -> (N, D) float32


class BatcherClosedError(SignclipError):
    """A request queued while the server was shutting down."""


@dataclass
class BatchingSettings:
    """How requests share forward passes: at most `max_batch` texts or poses in one pass (1 turns batching
    off: each request runs its own), gathered for at most `max_wait_ms` after the first one arrives."""

    max_batch: int = 32
    max_wait_ms: float = 2.0

    def validate(self, source: str = "batching") -> None:
        """Raise ConfigError naming a setting out of range."""
        if self.max_batch < 1:
            raise ConfigError(f"{source}: max_batch must be at least 1 (1 turns batching off), got {self.max_batch}")
        if not 0 <= self.max_wait_ms <= 1000:
            raise ConfigError(f"{source}: max_wait_ms must be between 0 and 1000, got {self.max_wait_ms}")

    @property
    def enabled(self) -> bool:
        """Whether requests are batched at all."""
        return self.max_batch > 1


@dataclass
class _Request:
    kind: str
    items: list[Any]
    normalize: bool
    future: Future = field(default_factory=Future)

    @property
    def key(self) -> tuple[str, bool]:
        return self.kind, self.normalize


@dataclass
class BatchStats:
    """What the batcher has done: forward passes run, requests and items they served, and requests that
    were retried alone after their shared pass failed."""

    passes: int = 0
    requests: int = 0
    items: int = 0
    retried_alone: int = 0


class Batcher:
    """Gathers concurrent embed requests for one model into shared calls of `embed` (run on its own thread)."""

    def __init__(self, embed: Embed, settings: BatchingSettings, name: str = "model") -> None:
        settings.validate()
        self._embed = embed
        self._settings = settings
        self._queue: collections.deque[_Request] = collections.deque()
        self._condition = threading.Condition()
        self._closed = False
        self.stats = BatchStats()
        self._thread = threading.Thread(target=self._run, name=f"signclip-batcher-{name}", daemon=True)
        self._thread.start()

    def embed(self, kind: str, items: Sequence[Any], normalize: bool = True) -> np.ndarray:
        """Embed `items` (texts, Poses or PoseTensors, per `kind`) into (len(items), D) float32 in a shared pass; raises
        what embedding them alone would raise, or BatcherClosedError once the batcher is closed."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, got {kind!r}")
        request = _Request(kind, list(items), normalize)
        with self._condition:
            if self._closed:
                raise BatcherClosedError("the server is shutting down; send the request again to a running server")
            self._queue.append(request)
            self._condition.notify_all()
        return request.future.result()

    def close(self) -> None:
        """Stop the worker after the pass it is running; requests still queued get BatcherClosedError."""
        with self._condition:
            self._closed = True
            waiting, self._queue = list(self._queue), collections.deque()
            self._condition.notify_all()
        for request in waiting:
            request.future.set_exception(BatcherClosedError("the server shut down before this request ran"))
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._serve(batch)

    def _next_batch(self) -> list[_Request] | None:
        """Block for the oldest request, then gather those that share its pass; None once closed."""
        with self._condition:
            while not self._queue and not self._closed:
                self._condition.wait()
            if self._closed:
                return None
            first = self._queue.popleft()
            batch, size = [first], len(first.items)
            deadline = time.monotonic() + self._settings.max_wait_ms / 1000
            while size < self._settings.max_batch:
                for request in list(self._queue):
                    if request.key == first.key and size + len(request.items) <= self._settings.max_batch:
                        self._queue.remove(request)
                        batch.append(request)
                        size += len(request.items)
                left = deadline - time.monotonic()
                if size >= self._settings.max_batch or left <= 0 or self._closed:
                    break
                self._condition.wait(left)
            return batch

    def _serve(self, batch: list[_Request]) -> None:
        """Run one pass over the batch's items and hand out the rows; after a failure, each request alone."""
        first = batch[0]
        self.stats.passes += 1
        self.stats.requests += len(batch)
        self.stats.items += sum(len(request.items) for request in batch)
        try:
            vectors = self._embed(first.kind, [item for request in batch for item in request.items], first.normalize)
        except Exception as error:
            if len(batch) == 1:
                first.future.set_exception(error)
                return
            self.stats.retried_alone += len(batch)
            for request in batch:
                self._serve_alone(request)
            return
        start = 0
        for request in batch:
            request.future.set_result(vectors[start : start + len(request.items)].copy())
            start += len(request.items)

    def _serve_alone(self, request: _Request) -> None:
        try:
            request.future.set_result(self._embed(request.kind, request.items, request.normalize))
        except Exception as error:
            request.future.set_exception(error)
