"""Dynamic batching (serve/batching.py) on the real test model: shared passes give a lone request's vectors to
1e-6 in any arrival order, a failing item fails its own request only, and the settings turn it off."""

from __future__ import annotations

import base64
import re
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import numpy as np
import pytest

from signclip.cli import main
from signclip.data.synthetic import synthetic_pose
from signclip.errors import ConfigError, PoseLayoutError
from signclip.poses.io import pose_to_bytes
from signclip.serve.batching import Batcher, BatcherClosedError, BatchingSettings
from signclip.serve.resources import ServedModel
from signclip.serve.settings import ServeSettings

from .browser import live_server

TEXTS = ["<en> <ase> house", "<en> <ase> tree", "<de> <gsg> Haus und Garten", "<en> <bfi> a much longer prompt here"]


@pytest.fixture(scope="module")
def loaded(model_dir):
    from signclip.model.hub import load_model

    return load_model(model_dir)


def poses(count: int) -> list:
    """Synthetic signs of different lengths (20-45 frames): padding in a shared pass differs from a lone one's."""
    return [synthetic_pose(gloss=index % 7, signer=index % 3, seed=index) for index in range(count)]


def wrong_layout(pose):
    """A pose that reads but that the model cannot preprocess: the body without hands or face."""
    return pose.get_components(["POSE_LANDMARKS"])


def concurrently(work, arguments: list, order: list[int]) -> list:
    """Run `work(argument)` for each argument on its own thread, starting them in `order` at once; results in
    the arguments' order (an exception is returned, not raised)."""
    start = threading.Barrier(len(arguments))

    def one(index: int):
        start.wait()
        try:
            return work(arguments[index])
        except Exception as error:
            return error

    with ThreadPoolExecutor(len(arguments)) as pool:
        futures = {index: pool.submit(one, index) for index in order}
        return [futures[index].result() for index in range(len(arguments))]


@pytest.mark.parametrize("normalize", [True, False])
@pytest.mark.parametrize("order", [[0, 1, 2, 3, 4, 5], [5, 3, 1, 0, 2, 4]])
def test_shared_passes_give_each_request_its_lone_vectors(loaded, normalize, order):
    served = ServedModel(loaded, [])
    signs = poses(6)
    alone_poses = [loaded.embed_poses([pose], normalize=normalize)[0] for pose in signs]
    alone_texts = [loaded.embed_texts([text], normalize=normalize)[0] for text in TEXTS]
    served.start_batching(BatchingSettings(max_batch=32, max_wait_ms=50))
    try:
        pose_rows = concurrently(lambda pose: served.embed_poses([pose], normalize=normalize), signs, order)
        text_rows = concurrently(
            lambda text: served.embed_texts([text], normalize=normalize), TEXTS, [i for i in order if i < len(TEXTS)]
        )
        stats = served.batcher.stats
    finally:
        served.stop_batching()
    for got, expected in zip(pose_rows, alone_poses, strict=True):
        np.testing.assert_allclose(got[0], expected, atol=1e-6)
    for got, expected in zip(text_rows, alone_texts, strict=True):
        np.testing.assert_allclose(got[0], expected, atol=1e-6)
    assert stats.requests == 10 and stats.items == 10
    assert stats.passes < stats.requests  # requests really shared passes


def test_a_failing_item_fails_its_own_request_only(loaded):
    served = ServedModel(loaded, [])
    signs = poses(4)
    signs[2] = wrong_layout(signs[2])
    served.start_batching(BatchingSettings(max_batch=32, max_wait_ms=50))
    try:
        rows = concurrently(lambda pose: served.embed_poses([pose]), signs, [0, 1, 2, 3])
    finally:
        served.stop_batching()
    assert isinstance(rows[2], PoseLayoutError)  # refused by its own preprocessing, in its own thread
    for index in (0, 1, 3):
        np.testing.assert_allclose(rows[index][0], loaded.embed_poses([signs[index]])[0], atol=1e-6)


def test_a_shared_pass_that_fails_is_rerun_request_by_request():
    def embed(kind, items, normalize):
        if "bad" in items:
            raise ValueError("bad item")
        return np.array([[len(item)] for item in items], dtype=np.float32)

    batcher = Batcher(embed, BatchingSettings(max_batch=32, max_wait_ms=100))
    try:
        rows = concurrently(lambda item: batcher.embed("texts", [item]), ["a", "bad", "ccc"], [0, 1, 2])
        stats = batcher.stats
    finally:
        batcher.close()
    assert isinstance(rows[1], ValueError)
    assert [rows[0].tolist(), rows[2].tolist()] == [[[1.0]], [[3.0]]]
    assert stats.retried_alone >= 2  # the shared pass failed and its requests ran alone


def test_a_batch_holds_at_most_max_batch_items_and_a_larger_request_runs_whole():
    seen: list[int] = []

    def embed(kind, items, normalize):
        seen.append(len(items))
        return np.arange(len(items), dtype=np.float32)[:, None].repeat(3, axis=1)

    batcher = Batcher(embed, BatchingSettings(max_batch=4, max_wait_ms=100))
    try:
        rows = concurrently(lambda items: batcher.embed("texts", items), [["a", "b"], ["c", "d"], ["e"] * 6], [0, 1, 2])
    finally:
        batcher.close()
    assert max(seen) == 6 and sorted(seen) in ([2, 2, 6], [4, 6])  # 2 + 2 may share a pass; 6 runs alone, whole
    assert [len(row) for row in rows] == [2, 2, 6]


def test_kinds_and_normalization_never_share_a_pass():
    calls: list[tuple[str, bool, int]] = []

    def embed(kind, items, normalize):
        calls.append((kind, normalize, len(items)))
        return np.zeros((len(items), 2), dtype=np.float32)

    batcher = Batcher(embed, BatchingSettings(max_batch=32, max_wait_ms=100))
    requests = [("texts", True), ("poses", True), ("texts", False), ("texts", True)]
    try:
        concurrently(lambda request: batcher.embed(request[0], ["x"], request[1]), requests, [0, 1, 2, 3])
    finally:
        batcher.close()
    assert sum(count for *_, count in calls) == 4
    assert ("texts", True, 2) in calls or calls.count(("texts", True, 1)) == 2
    assert {(kind, normalize) for kind, normalize, _ in calls} == {("texts", True), ("poses", True), ("texts", False)}


def test_a_closed_batcher_refuses_and_max_batch_1_is_off(loaded):
    batcher = Batcher(lambda kind, items, normalize: np.zeros((len(items), 1)), BatchingSettings())
    batcher.close()
    with pytest.raises(BatcherClosedError, match="shutting down"):
        batcher.embed("texts", ["a"])
    served = ServedModel(loaded, [])
    served.start_batching(BatchingSettings(max_batch=1))
    assert served.batcher is None
    np.testing.assert_allclose(served.embed_texts(TEXTS[:1]), loaded.embed_texts(TEXTS[:1]), atol=1e-6)


@pytest.mark.parametrize(
    ("batching", "message"),
    [
        ({"max_batch": 0}, "batching: max_batch must be at least 1 (1 turns batching off), got 0"),
        ({"max_wait_ms": -1}, "batching: max_wait_ms must be between 0 and 1000, got -1"),
        ({"max_size": 3}, "max_size"),
    ],
)
def test_bad_batching_settings_name_the_setting(batching, message):
    with pytest.raises(ConfigError, match=re.escape(message)):
        ServeSettings.from_dict({"batching": batching})


def test_serve_flags_set_the_batching(capsys):
    from signclip.cli import build_parser
    from signclip.cli.serve import settings_from_args

    settings = settings_from_args(build_parser().parse_args(["serve", "--max-batch", "8", "--max-wait-ms", "5"]))
    assert (settings.batching.max_batch, settings.batching.max_wait_ms) == (8, 5.0)
    assert main(["serve", "--max-batch", "0"]) == 1
    assert "max_batch must be at least 1" in capsys.readouterr().err


def test_over_http_a_bad_pose_fails_its_request_and_the_others_answer(settings, loaded):
    signs = poses(5)
    bodies = [{"pose": base64.b64encode(pose_to_bytes(pose)).decode()} for pose in signs]
    bodies[1] = {"pose": base64.b64encode(pose_to_bytes(wrong_layout(signs[1]))).decode()}
    bodies[3] = {"pose": base64.b64encode(b"not a pose file").decode()}
    batched = ServeSettings(**{**settings.__dict__, "batching": BatchingSettings(max_batch=32, max_wait_ms=50)})
    with live_server(batched) as url, httpx.Client(base_url=url, timeout=60) as http:
        answers = concurrently(lambda body: http.post("/api/embed/pose", json=body), bodies, [4, 3, 2, 1, 0])
    assert [answer.status_code for answer in answers] == [200, 422, 200, 400, 200]
    assert "the pose lacks 170 of the 203 points" in answers[1].json()["detail"]
    for index in (0, 2, 4):
        np.testing.assert_allclose(
            answers[index].json()["embeddings"][0], loaded.embed_poses([signs[index]])[0], atol=1e-6
        )
