"""Fixtures for the server tests: a small untrained model saved to disk, a synthetic dataset indexed into
an embedded PostgreSQL in a temporary home, and a TestClient of the app serving both."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from pathlib import Path

import pytest

from signclip.data.manifest import read_manifest
from signclip.data.synthetic import generate_dataset, synthetic_pose
from signclip.poses.io import pose_to_bytes
from signclip.serve.settings import ServeSettings

DATASET = "synthetic"


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory, small_model_config) -> Path:
    """signclip-small's layout with a 1-layer text transformer (random weights, MiniLM tokenizer), saved."""
    from signclip.model.hub import create_model, save_model

    model = create_model(small_model_config("serve-test", tower_dim=32, max_frames=64))
    return save_model(model, tmp_path_factory.mktemp("model") / "serve-test")


@pytest.fixture(scope="session")
def serve_home(tmp_path_factory: pytest.TempPathFactory, model_dir: Path) -> Path:
    """A signclip home whose embedded PostgreSQL holds the synthetic dataset, embedded by the test model."""
    from embedders import index_table

    from signclip.model.hub import load_model
    from signclip.store.store import Store

    home = tmp_path_factory.mktemp("home")
    manifest = generate_dataset(tmp_path_factory.mktemp("data"), glosses=6, signers=2, repetitions=2)
    with Store.open(home=home) as store:
        index_table(store, DATASET, read_manifest(manifest), load_model(model_dir), progress=False)
    return home


@pytest.fixture(scope="session")
def database_url(serve_home: Path) -> Iterator[str]:
    """The URL of the embedded server of `serve_home`, held running for the whole session.

    Apps connect by URL, so one closing (each holds its process's lease otherwise) never stops the
    server under another app of the same test process.
    """
    from signclip.store.embedded_postgres import EmbeddedPostgres

    server = EmbeddedPostgres(serve_home)
    url = server.acquire()
    yield url
    server.release()


@pytest.fixture(scope="session")
def settings(model_dir: Path, serve_home: Path, database_url: str) -> ServeSettings:
    return ServeSettings(
        models=[str(model_dir), f"alias={model_dir}"],
        home=str(serve_home),
        database_url=database_url,
        upload_dir=str(serve_home / "uploads"),
    )


@pytest.fixture(scope="session")
def client(settings: ServeSettings) -> Iterator:
    from fastapi.testclient import TestClient

    from signclip.serve.app import create_app

    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def pose_bytes() -> bytes:
    return pose_to_bytes(synthetic_pose(gloss=2, signer=1, seed=7))


@pytest.fixture(scope="session")
def pose_base64(pose_bytes: bytes) -> str:
    return base64.b64encode(pose_bytes).decode()


VIDEO_DATASET = "synthetic-video"  # sorts after "synthetic", which tests expect first


@pytest.fixture
def video_segment(serve_home: Path, database_url: str, model_dir: Path, fixtures_dir: Path) -> dict:
    """A segment (600-900 ms) of the real fixture video, indexed as dataset `synthetic-video` with a synthetic
    pose; returns its item id, video and times (skips when ../shared is absent). Indexing again is a no-op."""
    import pandas as pd
    from embedders import index_table

    from signclip.model.hub import load_model
    from signclip.poses.io import write_pose
    from signclip.store.store import Store

    video = fixtures_dir / "test_video.mp4"
    pose = serve_home / "video-poses" / "clip.pose"
    if not pose.exists():
        write_pose(synthetic_pose(gloss=0, signer=0, seed=3), pose)
    row = {"id": "clip#sign1", "video_path": str(video), "pose_path": str(pose), "start_ms": 600.0, "end_ms": 900.0}
    row.update(spoken_language="en", signed_language="ase")
    with Store.open(database_url, home=serve_home) as store:
        report = index_table(store, VIDEO_DATASET, pd.DataFrame([row]), load_model(model_dir), progress=False)
    return {"dataset": VIDEO_DATASET, "item_id": report.item_ids[0], "video": video, "start_ms": 600.0, "end_ms": 900.0}


RECORDINGS_DATASET = "talks"
TALK_SEGMENTS = [(0.0, 400.0, "sign"), (400.0, 900.0, "sign"), (900.0, 1500.0, "sign"), (0.0, 1500.0, "sentence")]


def long_synthetic_pose() -> object:
    """Three synthetic signs one after another (about 2.5 s at 25 fps): a recording to cut segments from."""
    import numpy as np

    from signclip.poses.io import pose_from_array

    parts = [synthetic_pose(gloss=g, signer=0, seed=11) for g in (0, 3, 5)]
    data = np.concatenate([np.ma.filled(p.body.data, np.nan) for p in parts])
    confidence = np.concatenate([p.body.confidence for p in parts])
    return pose_from_array(parts[0].header, data, 25.0, confidence)


@pytest.fixture
def recordings(serve_home: Path, database_url: str, model_dir: Path, fixtures_dir: Path) -> dict:
    """Dataset `talks`: recording `talk1` (the real fixture video, with a pose of three synthetic signs) as three
    sign segments and one sentence, and recording `talk2` (a pose only) as one sign; returns their item ids by
    key (skips when ../shared is absent). Indexing again is a no-op."""
    import pandas as pd
    from embedders import index_table

    from signclip.model.hub import load_model
    from signclip.poses.io import write_pose
    from signclip.store.store import Store

    video = fixtures_dir / "test_video.mp4"
    poses = {name: serve_home / "talk-poses" / f"{name}.pose" for name in ("talk1", "talk2")}
    for path in poses.values():
        if not path.exists():
            write_pose(long_synthetic_pose(), path)
    rows, counts = [], {}
    for start, end, level in TALK_SEGMENTS:
        counts[level] = counts.get(level, 0) + 1
        rows.append(
            {
                "id": f"talk1#{level}{counts[level]}",
                "gloss": f"{level.upper()}-{counts[level]}",
                "video_path": str(video),
                "pose_path": str(poses["talk1"]),
                "start_ms": start,
                "end_ms": end,
                "metadata": {"recording": "talk1", "level": level, "segmenter": "test"},
            }
        )
    rows.append(
        {
            "id": "talk2#sign1",
            "gloss": "OTHER",
            "video_path": "",
            "pose_path": str(poses["talk2"]),
            "start_ms": 200.0,
            "end_ms": 800.0,
            "metadata": {"recording": "talk2", "level": "sign"},
        }
    )
    for row in rows:
        row.update(spoken_language="en", signed_language="ase")
    table = pd.DataFrame(rows)
    with Store.open(database_url, home=serve_home) as store:
        report = index_table(
            store, RECORDINGS_DATASET, table.drop(columns="metadata"), load_model(model_dir), progress=False
        )
        store.add_items(RECORDINGS_DATASET, table)  # the segmenter's metadata, as `index add --segment` keeps it
    ids = dict(zip([row["id"] for row in rows], report.item_ids, strict=True))
    return {"dataset": RECORDINGS_DATASET, "ids": ids, "video": video}
