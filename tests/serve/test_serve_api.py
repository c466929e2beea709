"""Every endpoint through FastAPI's TestClient: answers equal the library's, and bad input is a 4xx naming
the problem, with the data already stored left as it was."""

from __future__ import annotations

import base64
import contextlib
import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from signclip.data.synthetic import synthetic_pose
from signclip.model.hub import load_model
from signclip.poses.io import pose_to_bytes, read_pose
from signclip.poses.transforms.core import with_body

from .conftest import DATASET

PROMPT = "<en> <ase> house"


@pytest.fixture(scope="module")
def model(model_dir):
    return load_model(model_dir)


@pytest.fixture(scope="module")
def stored_item(client) -> dict:
    """The first item of the synthetic dataset, as the API returns it, with its pose bytes."""
    item = client.get("/api/items/1").json()
    item["pose_bytes"] = client.get("/api/items/1/pose").content
    return item


def snapshot(client) -> list:
    """What is stored: every dataset with its counts."""
    return client.get("/api/datasets").json()["datasets"]


def assert_problem(response, status: int, *words: str) -> None:
    assert response.status_code == status, response.text
    detail = response.json()["detail"]
    assert isinstance(detail, str)
    for word in words:
        assert word in detail, detail


# ----------------------------------------------------------------------------- status


def test_health_models_and_datasets(client):
    health = client.get("/healthz").json()
    assert health == {"status": "ok", "models": ["serve-test"], "database": "ok"}
    models = client.get("/api/models").json()["models"]
    warning = models[0].pop("warning")
    assert models == [
        {
            "name": "serve-test",
            "aliases": ["alias"],
            "embed_dim": 32,
            "prompt": "signclip_v1",
            "default": True,
            "trained": False,  # the test model is saved untrained, and its provenance says so
        }
    ]
    assert "'serve-test' is untrained" in warning and "signclip train" in warning
    datasets = snapshot(client)
    assert datasets[0] == {"name": DATASET, "items": 24, "embeddings": {"serve-test": 24}, "vector_type": "vector"}
    assert [d["name"] for d in datasets] == sorted(d["name"] for d in datasets)  # other tests may add datasets


# ----------------------------------------------------------------------------- embedding


def test_embed_text_equals_the_library(client, model):
    response = client.post("/api/embed/text", json={"text": [PROMPT, "<en> <ase> tree"]})
    assert response.status_code == 200
    body = response.json()
    assert body["model"] == "serve-test"
    expected = model.embed_texts([PROMPT, "<en> <ase> tree"])
    np.testing.assert_allclose(body["embeddings"], expected, atol=1e-5)
    single = client.post("/api/embed/text", json={"text": PROMPT, "model_name": "alias"}).json()
    np.testing.assert_allclose(single["embeddings"], expected[:1], atol=1e-5)


def test_compatible_get_forms_answer_like_the_original_server(client, model, pose_base64, pose_bytes):
    text = client.request("GET", "/api/embed/text", json={"text": PROMPT, "model_name": "default"})
    assert text.status_code == 200
    assert list(text.json()) == ["embeddings"]
    raw = model.embed_texts([PROMPT], normalize=False)  # the original's answer: not normalized
    np.testing.assert_allclose(text.json()["embeddings"], raw, atol=1e-5)
    pose = client.request("GET", "/api/embed/pose", json={"pose": [pose_base64, pose_base64]})
    assert pose.status_code == 200
    assert list(pose.json()) == ["embeddings"]
    expected = model.embed_poses([synthetic_pose(gloss=2, signer=1, seed=7)], normalize=False)
    np.testing.assert_allclose(pose.json()["embeddings"], np.repeat(expected, 2, axis=0), atol=1e-5)


def test_embed_pose_json_and_multipart_agree(client, model, pose_base64, pose_bytes):
    expected = model.embed_poses([synthetic_pose(gloss=2, signer=1, seed=7)])
    as_json = client.post("/api/embed/pose", json={"pose": pose_base64}).json()
    np.testing.assert_allclose(as_json["embeddings"], expected, atol=1e-5)
    wrapped = base64.encodebytes(pose_bytes).decode().replace("\n", "\r\n\t ")  # MIME-style lines
    assert wrapped.count("\n") > 100
    as_wrapped = client.post("/api/embed/pose", json={"pose": wrapped}).json()
    np.testing.assert_allclose(as_wrapped["embeddings"], as_json["embeddings"], atol=1e-7)
    other = pose_to_bytes(synthetic_pose(gloss=4, signer=0, seed=1))
    uploaded = client.post(
        "/api/embed/pose",
        files=[("pose", ("a.pose", pose_bytes)), ("pose", ("b.pose", other))],
        data={"model_name": "alias"},
    )
    assert uploaded.status_code == 200, uploaded.text
    vectors = np.array(uploaded.json()["embeddings"])
    assert vectors.shape == (2, 32)
    np.testing.assert_allclose(vectors[:1], expected, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_embed_video_extracts_the_pose(client, fixtures_dir, model):
    video = (fixtures_dir / "test_video.mp4").read_bytes()
    response = client.post(
        "/api/embed/video", files={"video": ("clip.mp4", video, "video/mp4")}, data={"return_pose": "true"}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["frames"] == 58 and body["fps"] > 0
    pose_bytes = base64.b64decode(body["pose"])
    from signclip.poses.io import pose_from_bytes

    pose = pose_from_bytes(pose_bytes)
    assert pose.body.data.shape[:3] == (58, 1, 576)
    np.testing.assert_allclose(body["embeddings"], model.embed_poses([pose]), atol=1e-5)


# ----------------------------------------------------------------------------- search


def test_text_search_ranks_by_score_with_the_model_prompt(client, model):
    response = client.post("/api/search", json={"dataset": DATASET, "text": "house", "k": 5})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["query"] == {"kind": "text", "text": "house", "prompt": PROMPT, "frames": None, "skeleton": None}
    results = body["results"]
    assert [r["rank"] for r in results] == [1, 2, 3, 4, 5]
    scores = [r["score"] for r in results]
    assert scores == sorted(scores, reverse=True)
    for result in results:
        assert result["score"] == pytest.approx(1 - result["distance"])
        assert result["pose_url"] == f"/api/items/{result['item_id']}/pose"
    query = model.embed_texts([PROMPT])[0]
    best = client.post(
        "/api/embed/pose", json={"pose": base64.b64encode(client.get(results[0]["pose_url"]).content).decode()}
    ).json()["embeddings"][0]
    assert float(np.dot(query, best)) == pytest.approx(scores[0], abs=1e-4)


def test_search_filters_and_raw_prompt(client):
    body = client.post(
        "/api/search",
        json={
            "dataset": DATASET,
            "text": "<en> <ase> tree",
            "prompt": False,
            "k": 50,
            "filters": {"signer": "signer-1"},
        },
    ).json()
    assert body["query"]["prompt"] == "<en> <ase> tree"
    assert len(body["results"]) == 12
    assert {r["signer"] for r in body["results"]} == {"signer-1"}
    assert body["empty_reason"] == ""
    nobody = client.post("/api/search", json={"dataset": DATASET, "text": "tree", "filters": {"signer": "nobody"}})
    assert nobody.status_code == 200 and nobody.json()["results"] == []
    assert nobody.json()["empty_reason"] == f"no item of '{DATASET}' has signer=nobody"


def test_pose_search_finds_the_stored_pose_first(client, stored_item):
    encoded = base64.b64encode(stored_item["pose_bytes"]).decode()
    body = client.post(
        "/api/search", json={"dataset": DATASET, "pose": encoded, "k": 3, "include_query_skeleton": True}
    ).json()
    assert body["results"][0]["item_id"] == stored_item["item_id"]
    assert body["results"][0]["score"] == pytest.approx(1.0, abs=1e-4)
    assert body["query"]["kind"] == "pose" and body["query"]["frames"] > 0
    assert len(body["query"]["skeleton"]["frames"]) == body["query"]["frames"]
    uploaded = client.post(
        "/api/search",
        data={"dataset": DATASET, "k": "3", "filters": '{"gloss": ["HOUSE", "TREE"]}'},
        files={"pose": ("query.pose", stored_item["pose_bytes"])},
    ).json()
    assert [r["item_id"] for r in uploaded["results"]] == [r["item_id"] for r in body["results"]]
    assert uploaded["query"]["skeleton"] is None


def test_pose_search_reranked_by_dtw_says_how(client, stored_item):
    encoded = base64.b64encode(stored_item["pose_bytes"]).decode()
    body = client.post("/api/search", json={"dataset": DATASET, "pose": encoded, "k": 5, "rerank": "dtw"}).json()
    reranked = body["reranked"]
    assert reranked["weight"] == 1.0 and reranked["preset"] == "fingerclip" and "DTW" in reranked["summary"]
    distances = [hit["dtw_distance"] for hit in body["results"]]
    assert body["results"][0]["item_id"] == stored_item["item_id"] and distances[0] < 1e-3  # float32 roundoff
    uploaded = client.post(
        "/api/search",
        data={"dataset": DATASET, "k": "5", "rerank": "dtw", "candidates": "10"},
        files={"pose": ("query.pose", stored_item["pose_bytes"])},
    ).json()
    assert uploaded["reranked"]["candidates"] == 10
    assert client.post("/api/search", json={"dataset": DATASET, "pose": encoded}).json()["reranked"] is None
    refused = client.post("/api/search", json={"dataset": DATASET, "text": "house", "rerank": "dtw"})
    assert_problem(refused, 422, "takes a pose or video query")
    assert_problem(client.post("/api/search", json={"dataset": DATASET, "pose": encoded, "candidates": 0}), 422)


# ----------------------------------------------------------------------------- items


def test_item_pose_and_skeleton(client, stored_item, serve_home):
    assert stored_item["dataset"] == DATASET
    assert stored_item["key"] == "house-s0-r0" and stored_item["gloss"] == "HOUSE"
    assert stored_item["has_pose"] is True
    assert "pose_path" not in stored_item
    original = synthetic_pose(gloss=0, signer=0, seed=0)
    assert stored_item["pose_bytes"] == pose_to_bytes(original)
    skeleton = client.get("/api/items/1/skeleton", params={"max_frames": 10}).json()
    assert len(skeleton["frames"]) == 10
    names = [c["name"] for c in skeleton["components"]]
    assert names == ["POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"]
    assert max(skeleton["width"], skeleton["height"]) == 1000
    points = sum(c["count"] for c in skeleton["components"])
    assert all(len(frame) == 2 * points for frame in skeleton["frames"])


def test_openapi_document_lists_every_endpoint(client):
    paths = client.get("/openapi.json").json()["paths"]
    assert set(paths) >= {
        "/healthz",
        "/api/models",
        "/api/datasets",
        "/api/embed/text",
        "/api/embed/pose",
        "/api/embed/video",
        "/api/search",
        "/api/items/{item_id}",
        "/api/items/{item_id}/pose",
        "/api/items/{item_id}/skeleton",
        "/api/index",
    }
    search_body = paths["/api/search"]["post"]["requestBody"]["content"]
    assert set(search_body) == {"application/json", "multipart/form-data"}
    assert set(paths["/api/embed/text"]) == {"get", "post"}


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert '<label for="text">' in page.text
    for name in ("main.js", "player.js", "style.css"):
        assert client.get(f"/static/{name}").status_code == 200


# ----------------------------------------------------------------------------- bad input

NOT_A_POSE = base64.b64encode(b"this is not a pose file at all").decode()


@pytest.mark.parametrize(
    ("method", "url", "request_args", "status", "words"),
    [
        ("post", "/api/embed/pose", {"json": {"pose": "not base64!"}}, 400, ["pose", "base64"]),
        ("post", "/api/embed/pose", {"json": {"pose": ["AAAA", "%%%"]}}, 400, ["pose[1]", "base64"]),
        ("post", "/api/embed/pose", {"json": {"pose": NOT_A_POSE}}, 400, ["pose", "not a readable .pose"]),
        ("post", "/api/embed/pose", {"json": {"pose": ""}}, 400, ["pose", "empty"]),
        ("post", "/api/embed/pose", {"json": {"pose": []}}, 422, ["pose", "at least one"]),
        ("post", "/api/embed/pose", {"files": {"pose": ("x.pose", b"junk")}}, 400, ["x.pose", "not a readable"]),
        (
            "post",
            "/api/embed/pose",
            {"data": {"model_name": "default"}, "files": {"other": ("x", b"1")}},
            422,
            ["other"],
        ),
        (
            "post",
            "/api/embed/pose",
            {"content": b"pose=1", "headers": {"content-type": "text/plain"}},
            415,
            ["text/plain"],
        ),
        (
            "post",
            "/api/embed/pose",
            {"content": b"{not json", "headers": {"content-type": "application/json"}},
            400,
            ["JSON"],
        ),
        ("get", "/api/embed/pose", {"json": {"pose": NOT_A_POSE}}, 400, ["not a readable .pose"]),
        ("post", "/api/embed/text", {"json": {"text": ["a"] * 65}}, 413, ["65 texts", "max_texts"]),
        ("post", "/api/embed/text", {"json": {"text": "x" * 1001}}, 413, ["max_text_chars"]),
        ("post", "/api/embed/text", {"json": {}}, 422, ["text", "required"]),
        ("post", "/api/embed/text", {"json": {"text": 5}}, 422, ["text"]),
        ("post", "/api/embed/text", {"json": {"text": [1, 2]}}, 422, ["text"]),
        ("post", "/api/embed/text", {"json": {"text": "a", "model_name": "nope"}}, 404, ["nope", "default"]),
        ("get", "/api/embed/text", {"json": {"text": "a", "model_name": "asl_citizen"}}, 404, ["asl_citizen"]),
        ("get", "/api/embed/text", {"json": {"text": []}}, 422, ["at least one text"]),
        ("post", "/api/search", {"json": {"dataset": "nope", "text": "house"}}, 404, ["nope", DATASET]),
        ("post", "/api/search", {"json": {"text": "house"}}, 422, ["dataset", "required"]),
        ("post", "/api/search", {"json": {"dataset": DATASET}}, 422, ["exactly one", "none"]),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "a", "pose": "AAAA"}}, 422, ["text, pose"]),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "  "}}, 422, ["empty"]),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "a", "k": 0}}, 422, ["k"]),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "a", "k": "ten"}}, 422, ["k"]),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "a", "k": 101}}, 422, ["max_k"]),
        (
            "post",
            "/api/search",
            {"json": {"dataset": DATASET, "text": "a", "filters": {"colour": "red"}}},
            422,
            ["colour"],
        ),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "a", "filters": ["signer"]}}, 422, ["filters"]),
        ("post", "/api/search", {"json": {"dataset": "a\x00b", "text": "a"}}, 422, ["dataset", "NUL"]),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "a", "model_name": "x"}}, 404, ["'x'"]),
        ("post", "/api/search", {"json": {"dataset": DATASET, "pose": NOT_A_POSE}}, 400, ["not a readable"]),
        (
            "post",
            "/api/search",
            {"json": {"dataset": DATASET, "video": NOT_A_POSE}},
            400,
            ["video", "not a readable video"],
        ),
        (
            "post",
            "/api/search",
            {"data": {"dataset": DATASET, "filters": "{oops"}, "files": {"pose": ("q.pose", b"x")}},
            400,
            ["filters", "JSON"],
        ),
        ("post", "/api/search", {"json": {"dataset": DATASET, "text": "a", "signed_language": "zzz"}}, 422, ["zzz"]),
        ("post", "/api/embed/video", {"files": {"video": ("v.mp4", b"not a video")}}, 400, ["v.mp4", "video"]),
        ("post", "/api/embed/video", {"files": {"video": ("v.mp4", b"")}}, 400, ["empty"]),
        ("post", "/api/embed/video", {"files": {"pose": ("x.pose", b"1")}}, 422, ["pose", "unexpected file"]),
        (
            "post",
            "/api/embed/video",
            {"files": [("video", ("a.mp4", b"1")), ("video", ("b.mp4", b"2"))]},
            422,
            ["got 2"],
        ),
        ("post", "/api/embed/video", {"json": {"video": "AAAA"}}, 415, ["multipart"]),
        ("get", "/api/items/999999", {}, 404, ["999999"]),
        ("get", "/api/items/0", {}, 422, ["item_id"]),
        ("get", "/api/items/99999999999999999999", {}, 422, ["item_id"]),
        ("get", "/api/items/abc/pose", {}, 422, ["item_id"]),
        ("get", "/api/items/999999/skeleton", {}, 404, ["999999"]),
        ("get", "/api/items/1/skeleton?max_frames=0", {}, 422, ["max_frames"]),
        ("post", "/api/index", {"json": {"dataset": "new"}}, 422, ["items"]),
    ],
)
def test_bad_input_is_a_4xx_naming_the_problem(client, method, url, request_args, status, words):
    before = snapshot(client)
    response = client.request(method.upper(), url, **request_args)
    assert_problem(response, status, *words)
    assert snapshot(client) == before


# ----------------------------------------------------------------------------- limits, keys, CORS


@contextlib.contextmanager
def variant_client(settings, **changes):
    """A TestClient of another app on the same database, with `changes` to the settings (limits by name)."""
    from fastapi.testclient import TestClient

    from signclip.serve.app import create_app

    limits = dataclasses.replace(settings.limits, **changes.pop("limits", {}))
    changes.setdefault("models", settings.models[:1])
    variant = dataclasses.replace(settings, limits=limits, **changes)
    with TestClient(create_app(variant)) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def keyed_client(settings):
    """An app with an API key and one allowed CORS origin."""
    with variant_client(settings, api_key="s3cret", cors_origins=["https://signs.example"]) as test_client:
        yield test_client


def tiny_pose_bytes(frames: int) -> bytes:
    """A valid .pose file of two 2D points: small, so only its frame count can break a limit."""
    from pose_format.pose_header import PoseHeader, PoseHeaderComponent, PoseHeaderDimensions

    from signclip.poses.io import pose_from_array

    component = PoseHeaderComponent("BODY", ["A", "B"], [(0, 1)], [(255, 0, 0)], "XYC")
    header = PoseHeader(0.1, PoseHeaderDimensions(100, 100, 0), [component])
    return pose_to_bytes(pose_from_array(header, np.ones((frames, 1, 2, 2)), fps=25.0))


def chunked_json(size: int) -> Iterator[bytes]:
    """A JSON body of about `size` bytes, sent in pieces (chunked: no Content-Length)."""
    yield b'{"text": "'
    for _ in range(size // 100):
        yield b"x" * 100
    yield b'"}'


def test_size_count_and_frame_limits(settings):
    limits = {"max_request_bytes": 4000, "max_upload_bytes": 2000, "max_poses": 2, "max_frames": 20}
    with variant_client(settings, limits=limits) as limited:
        big = pose_to_bytes(synthetic_pose(0, 0, seed=0))
        assert_problem(limited.post("/api/embed/pose", files={"pose": ("big.pose", big)}), 413, "max_request_bytes")
        assert_problem(limited.post("/api/embed/pose", json={"pose": "A" * 3000}), 413, "pose", "max_upload_bytes")
        assert_problem(limited.post("/api/embed/pose", json={"pose": ["AAAA"] * 3}), 413, "3 poses", "max_poses")
        long = base64.b64encode(tiny_pose_bytes(25)).decode()
        assert_problem(limited.post("/api/embed/pose", json={"pose": long}), 413, "25 frames", "max_frames")
        uploaded = limited.post("/api/embed/pose", files={"pose": ("long.pose", tiny_pose_bytes(25))})
        assert_problem(uploaded, 413, "long.pose", "max_frames")
        for endpoint in ("/api/embed/text", "/api/embed/pose"):  # a body without Content-Length, cut off at 4000
            streamed = limited.post(endpoint, content=chunked_json(5000), headers={"content-type": "application/json"})
            assert_problem(streamed, 413, "max_request_bytes")
        short = base64.b64encode(tiny_pose_bytes(5)).decode()
        assert_problem(limited.post("/api/embed/pose", json={"pose": short}), 422, "pose")


def test_work_past_the_time_limit_is_a_503_naming_the_limit(settings):
    with variant_client(settings, limits={"request_timeout_s": 1e-6}) as hurried:
        assert_problem(hurried.post("/api/embed/text", json={"text": "house"}), 503, "request_timeout_s")
        assert hurried.get("/api/models").status_code == 200


def test_a_model_with_other_weights_under_the_same_name_is_refused(settings, model, tmp_path):
    import torch

    from signclip.model.hub import save_model

    with torch.no_grad():
        changed = load_model(settings.models[0])
        changed.pose_projection.weight.add_(1.0)
    other_dir = save_model(changed, tmp_path / "other")
    with variant_client(settings, models=[str(other_dir)]) as other:
        refused = other.post("/api/search", json={"dataset": DATASET, "text": "house"})
        assert_problem(refused, 409, "serve-test", "other weights")
        assert other.post("/api/embed/text", json={"text": "house"}).status_code == 200


def test_index_needs_the_key_and_adds_searchable_items(keyed_client, client):
    poses = [pose_to_bytes(synthetic_pose(gloss=5, signer=9, seed=s)) for s in (1, 2)]
    items = [
        {"id": f"upload-{i}", "pose": base64.b64encode(data).decode(), "gloss": "CAT", "signer": "visitor"}
        for i, data in enumerate(poses)
    ]
    request = {"dataset": "uploads", "items": items}
    before = snapshot(client)
    assert_problem(keyed_client.post("/api/index", json=request), 401, "API key")
    assert_problem(keyed_client.post("/api/index", json=request, headers={"X-API-Key": "wrong"}), 401, "API key")
    bad = {"dataset": "uploads", "items": [*items[:1], {"id": "broken", "pose": NOT_A_POSE}]}
    assert_problem(keyed_client.post("/api/index", json=bad, headers={"X-API-Key": "s3cret"}), 400, "items[1].pose")
    assert snapshot(client) == before

    added = keyed_client.post("/api/index", json=request, headers={"Authorization": "Bearer s3cret"})
    assert added.status_code == 200, added.text
    item_ids = added.json()["item_ids"]
    assert len(item_ids) == 2
    datasets = {d["name"]: d for d in snapshot(client)}
    assert datasets["uploads"] == {
        "name": "uploads",
        "items": 2,
        "embeddings": {"serve-test": 2},
        "vector_type": "vector",
    }
    assert datasets[DATASET] == before[0]
    found = client.post("/api/search", json={"dataset": "uploads", "pose": items[1]["pose"], "k": 2}).json()["results"]
    assert found[0]["item_id"] == item_ids[1] and found[0]["signer"] == "visitor"
    assert client.get(f"/api/items/{item_ids[0]}/pose").content == poses[0]


def test_cors_is_closed_by_default_and_open_to_configured_origins(client, keyed_client):
    preflight = {"Origin": "https://signs.example", "Access-Control-Request-Method": "POST"}
    closed = client.options("/api/search", headers=preflight)
    assert "access-control-allow-origin" not in closed.headers
    assert (
        "access-control-allow-origin" not in client.get("/healthz", headers={"Origin": "https://signs.example"}).headers
    )
    opened = keyed_client.options("/api/search", headers=preflight)
    assert opened.status_code == 200
    assert opened.headers["access-control-allow-origin"] == "https://signs.example"
    other = keyed_client.options("/api/search", headers={**preflight, "Origin": "https://evil.example"})
    assert other.headers.get("access-control-allow-origin") != "https://evil.example"


@pytest.fixture
def stories(database_url, serve_home) -> Iterator[str]:
    """A dataset name for one test, removed afterwards (the page's tests expect the session's datasets)."""
    yield "stories"
    from signclip.store.store import Store

    with Store.open(database_url, home=serve_home) as store:
        if "stories" in [info.name for info in store.list_datasets()]:
            store.remove_dataset("stories")


def test_index_with_segment_stores_a_recordings_signs(client, fixtures_dir, stories):
    pose = read_pose(fixtures_dir / "continuous_signing.pose")
    item = {"id": "story", "pose": base64.b64encode(pose_to_bytes(pose)).decode(), "signer": "visitor"}
    request = {"dataset": stories, "items": [item], "segment": True}
    uploads = Path(client.app.state.settings.upload_dir)
    files_before = sorted(uploads.rglob("*")) if uploads.exists() else []
    before = snapshot(client)
    assert_problem(client.post("/api/index", json={**request, "segmenter": "x"}), 422, "segmenter: unknown 'x'")
    for bad in ("../etc", "../../seg-escape", ".hidden"):
        assert_problem(client.post("/api/index", json={**request, "dataset": bad}), 422, "not allowed")
    assert_problem(client.post("/api/index", json={**request, "items": [{"pose": item["pose"]}]}), 422, "id")
    assert snapshot(client) == before  # no dataset, no row
    assert (sorted(uploads.rglob("*")) if uploads.exists() else []) == files_before  # no pose, no folder
    assert not (uploads.parent / "etc").exists() and not (uploads.parent.parent / "seg-escape").exists()
    confidence = pose.body.confidence.copy()
    confidence[:, :, 33:] = 0  # no face, no hands: nothing to segment
    handless = pose_to_bytes(with_body(pose, np.ma.getdata(pose.body.data), confidence))
    before = snapshot(client)
    still = {"id": "still", "pose": base64.b64encode(handless).decode()}
    assert_problem(client.post("/api/index", json={**request, "items": [item, still]}), 400, "recording 'still'")
    assert snapshot(client) == before  # all or nothing: the story's signs were not stored either
    added = client.post("/api/index", json=request)
    assert added.status_code == 200, added.text
    assert len(added.json()["item_ids"]) == 3  # dgs-2023's three signs of the recording
    stored = client.get(f"/api/items/{added.json()['item_ids'][0]}").json()
    assert stored["key"] == "story#sign1" and stored["signer"] == "visitor" and stored["start_ms"] > 0


def test_an_uploaded_form_is_closed_once_answered_or_refused(client, pose_bytes, monkeypatch):
    from starlette.datastructures import FormData

    closed = []
    real_close = FormData.close

    async def recording_close(form: FormData) -> None:
        closed.append(sorted(form.keys()))
        await real_close(form)

    monkeypatch.setattr(FormData, "close", recording_close)
    assert client.post("/api/embed/pose", files={"pose": ("a.pose", pose_bytes)}).status_code == 200
    assert_problem(client.post("/api/embed/pose", files={"pose": ("junk.pose", b"junk")}), 400, "junk.pose")
    assert closed == [["pose"], ["pose"]]
