"""Faults of `signclip serve` (issue 12): a corrupt model fails before the banner, too many files is a 413,
dataset names are validated, the embedded database is restarted when it died."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

import pytest

from signclip.cli import main


def test_a_corrupt_model_fails_before_the_banner_naming_the_file(model_dir: Path, tmp_path: Path, capsys):
    broken = tmp_path / "broken"
    shutil.copytree(model_dir, broken)
    (broken / "model.safetensors").write_bytes(b"not safetensors")
    assert main(["serve", "--model", str(broken), "--port", "3999"]) == 1
    captured = capsys.readouterr()
    assert "http://" not in captured.out
    assert str(broken / "model.safetensors") in captured.err


def test_too_many_files_is_a_413_naming_the_limit(client, pose_bytes: bytes):
    files = [("pose", (f"p{i}.pose", pose_bytes, "application/octet-stream")) for i in range(20)]
    response = client.post("/api/embed/pose", files=files)
    assert response.status_code == 413
    assert "max_poses" in response.json()["detail"]


def test_dataset_names_are_validated_by_the_api(client, pose_base64: str):
    body = {"dataset": "../etc", "items": [{"id": "a", "pose": pose_base64}]}
    response = client.post("/api/index", json=body)
    assert response.status_code == 422 and "not allowed" in response.json()["detail"]


def test_the_pool_restarts_the_embedded_server_it_started(tmp_path: Path, caplog):
    from signclip.serve.resources import StorePool
    from signclip.store.embedded_postgres import EmbeddedPostgres

    pool = StorePool(None, tmp_path / "home", size=1)
    try:
        with pool.store() as store:
            store.ping()
        EmbeddedPostgres(tmp_path / "home").stop()
        with caplog.at_level(logging.WARNING, logger="signclip.serve"), pool.store() as store:
            store.ping()
        assert "restarted the embedded PostgreSQL server" in caplog.text
    finally:
        pool.close()


def test_a_dataset_of_a_model_the_server_has_not_loaded_is_a_409_naming_it(client, database_url: str):
    import numpy as np

    from signclip.store.store import Store

    with Store.open(database_url) as store:
        ids = store.add_items("elsewhere", [{"id": f"i{i}", "pose_path": "/p.pose", "gloss": "A"} for i in range(3)])
        store.add_embeddings("other-model", ids, np.eye(3, 32, dtype=np.float32))
        try:
            response = client.post("/api/search", json={"dataset": "elsewhere", "text": "house"})
            assert response.status_code == 409
            answer = response.json()
            assert answer["models"] == ["other-model"] and answer["problem"] == "not_loaded"
            assert "none of which this server has loaded" in answer["detail"]
            assert "signclip serve --model" in answer["detail"]
            body = {"dataset": "elsewhere", "text": "house", "model_name": "default"}
            response = client.post("/api/search", json=body)
            assert response.status_code == 409 and "'serve-test' has no embeddings" in response.json()["detail"]
        finally:
            store.remove_dataset("elsewhere")  # the other tests share this store


def test_a_database_given_by_url_that_is_down_is_a_503_with_the_reason():
    from signclip.serve.resources import ServiceUnavailableError, StorePool

    pool = StorePool("postgresql://nobody@127.0.0.1:9/none?connect_timeout=2", None, size=1)
    try:
        with pytest.raises(ServiceUnavailableError, match=r"cannot connect to postgresql://nobody@127\.0\.0\.1:9"):
            pool.store().__enter__()
    finally:
        pool.close()
