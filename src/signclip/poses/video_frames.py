"""Decoding a video into RGB frames on a background thread, the way pose-format's `video_to_pose` reads them.

Frames come from `simple_video_utils` (PyAV, rgb24, display rotation applied): the reader pose-format's
own extraction uses, so the pixels MediaPipe sees are the same. PyAV releases the GIL while decoding,
so the decode thread runs beside inference on the calling thread.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from signclip.errors import SignclipError


class VideoError(SignclipError):
    """A video that cannot be read: missing, empty, not a video, no video stream, or no frames."""


@dataclass(frozen=True)
class VideoInfo:
    """What a pose header needs from a video: display size and frame rate."""

    width: int
    height: int
    fps: float


@dataclass
class StageTimes:
    """Seconds spent per stage of extracting videos; decoding overlaps inference."""

    decode: float = 0.0
    inference: float = 0.0
    write: float = 0.0

    def add(self, other: StageTimes) -> None:
        """Add `other`'s seconds to these."""
        self.decode += other.decode
        self.inference += other.inference
        self.write += other.write


def _describe(error: BaseException) -> str:
    """Return the innermost cause of a PyAV/simple_video_utils error as text."""
    while error.__cause__ is not None:
        error = error.__cause__
    return f"{type(error).__name__}: {error}"


@contextmanager
def open_frames(path: Path, fps: float | None = None, prefetch: int = 8) -> Iterator[tuple[VideoInfo, FrameReader]]:
    """Open `path` and yield (VideoInfo, FrameReader) whose frames are decoded ahead on a thread.

    With `fps`, frames are dropped to about `fps` frames per second (the first frame of each 1/fps
    interval; never duplicated, so an `fps` at or above the video's rate keeps every frame) and
    VideoInfo.fps is the resulting rate. Raises VideoError naming the file for unreadable videos.
    """
    from simple_video_utils.frames import read_frames_exact
    from simple_video_utils.metadata import open_video, video_metadata_from_container

    if not path.is_file():
        raise VideoError(f"{path}: no such file")
    if path.stat().st_size == 0:
        raise VideoError(f"{path}: the file is empty (0 bytes), not a video")
    with ExitStack() as stack:
        try:
            container = stack.enter_context(open_video(str(path), thread_type="NONE"))
            if not container.streams.video:
                raise VideoError(f"{path}: has no video stream")
            metadata = video_metadata_from_container(container)
        except SignclipError:
            raise
        except Exception as error:
            raise VideoError(f"{path}: not a readable video ({_describe(error)})") from None
        if not metadata.fps:
            raise VideoError(f"{path}: the video has no frame rate")
        info = VideoInfo(
            width=metadata.width, height=metadata.height, fps=min(fps, metadata.fps) if fps else metadata.fps
        )
        yield info, stack.enter_context(FrameReader(read_frames_exact(container, fps=fps), path, prefetch))


class FrameReader:
    """Iterates RGB frames (height, width, 3) uint8 that a background thread decodes `prefetch` ahead.

    Use it as a context manager: leaving stops the thread. `decode_seconds` is the thread's decoding time.
    """

    _END = object()

    def __init__(self, frames: Iterator[np.ndarray], path: Path, prefetch: int = 8):
        self._frames = frames
        self._path = path
        self._queue: queue.Queue = queue.Queue(maxsize=prefetch)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._decode, name=f"decode {path.name}", daemon=True)
        self.decode_seconds = 0.0

    def __enter__(self) -> FrameReader:
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        self._thread.join()

    def _put(self, item: object) -> bool:
        """Queue `item` unless the reader is stopping; returns False when it is."""
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _decode(self) -> None:
        try:
            while not self._stop.is_set():
                start = time.perf_counter()
                frame = next(self._frames, self._END)
                self.decode_seconds += time.perf_counter() - start
                if not self._put(frame) or frame is self._END:
                    return
        except BaseException as error:  # handed to the consuming thread, which re-raises it
            self._put(error)

    def __iter__(self) -> Iterator[np.ndarray]:
        while True:
            item = self._queue.get()
            if item is self._END:
                return
            if isinstance(item, BaseException):
                raise VideoError(f"{self._path}: decoding failed ({_describe(item)})") from None
            yield item
