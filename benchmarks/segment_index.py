"""`index add --segment` on a real video, in frames/s, beside plain `index add` of the same video.

Both go through `signclip.search.service.index_items` (what the CLI calls) into a temporary embedded
PostgreSQL, from the video file: MediaPipe Holistic extraction, then (with --segment) the segmenter and
one item per segment, embedding and storing. Each repeat uses a fresh dataset and poses folder, so the
video is extracted every time; the median of the repeats is reported.

    python benchmarks/segment_index.py                       # ../shared/fixtures/test_video.mp4, dgs-2023
    python benchmarks/segment_index.py --video V.mp4 --segmenter motion --repeats 5
"""

from __future__ import annotations

import argparse
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

import signclip
from signclip.model.identity import DEFAULT_MODEL
from signclip.search.request import IndexOptions, validate_index_request
from signclip.search.service import index_items
from signclip.store.embedded_postgres import EmbeddedPostgres
from signclip.store.store import Store

FIXTURE = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "test_video.mp4"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=FIXTURE, help="the video (../shared/fixtures/test_video.mp4)")
    parser.add_argument("--model", default=DEFAULT_MODEL, help=f"model directory or registered name ({DEFAULT_MODEL})")
    parser.add_argument("--segmenter", default="dgs-2023")
    parser.add_argument("--level", default="sign", choices=["sign", "sentence"])
    parser.add_argument("--repeats", type=int, default=3)
    return parser.parse_args()


def video_frames(video: Path) -> int:
    import cv2

    capture = cv2.VideoCapture(str(video))
    try:
        return int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    finally:
        capture.release()


def timed_run(store: Store, model, video: Path, work: Path, name: str, options: IndexOptions) -> tuple[float, int]:
    """Index the video once as dataset `name` (fresh poses folder); returns (seconds, items embedded)."""
    manifest = pd.DataFrame([{"id": video.stem, "video_path": str(video)}])
    options = IndexOptions(**{**options.__dict__, "poses_dir": work / name})
    started = time.perf_counter()
    report = index_items(store, validate_index_request(name, manifest, model, options))
    seconds = time.perf_counter() - started
    if report.failed or not report.embedded:
        raise SystemExit(f"{name}: nothing indexed: {report.lines()}")
    return seconds, report.embedded


def main() -> None:
    args = parse_args()
    signal.signal(signal.SIGTERM, lambda signum, _frame: sys.exit(128 + signum))  # the finally stops the server
    frames = video_frames(args.video)
    model = signclip.load_model(args.model)
    plain = IndexOptions(workers=1, progress=False)
    segmented = IndexOptions(workers=1, progress=False, segment=True, segmenter=args.segmenter, level=args.level)
    with tempfile.TemporaryDirectory(prefix="signclip-bench-") as folder:
        work = Path(folder)
        server = EmbeddedPostgres(work / "home")
        try:
            with Store.open(server.start(), home=work / "home") as store:
                timed_run(store, model, args.video, work, "warm-up", plain)  # MediaPipe and torch start-up
                results = {"plain": [], "segment": []}
                for repeat in range(args.repeats):
                    for kind, options in (("plain", plain), ("segment", segmented)):
                        results[kind].append(timed_run(store, model, args.video, work, f"{kind}-{repeat}", options))
        finally:
            server.stop()
    print(f"{args.video.name}: {frames} frames, model {model.name}, {args.repeats} repeats (median), 1 worker")
    seconds = {kind: statistics.median(s for s, _ in runs) for kind, runs in results.items()}
    for kind, label in (("plain", "index add (baseline)"), ("segment", f"index add --segment ({args.segmenter})")):
        items = results[kind][0][1]
        print(f"  {label:<34} {seconds[kind]:6.2f} s  {frames / seconds[kind]:6.1f} frames/s  {items} items")
    print(f"  ratio: --segment takes {seconds['segment'] / seconds['plain']:.2f}x plain index add")


if __name__ == "__main__":
    main()
