"""A bad `index add` request writes nothing at all (not a pose, not a row, not a folder), and `--vector-type` is kept
and switched.

Its manifest names a real video, so a request checked after extraction would leave a pose file behind
(as it once did: `--dataset ../etc` wrote SIGNCLIP_HOME/etc/long15.pose before refusing the name).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from embedders import save_tiny_model

from signclip.cli import main
from signclip.data.manifest import read_manifest
from signclip.search.request import IndexOptions, validate_index_request
from signclip.store.store import Store
from signclip.store.vector_types import UnknownVectorTypeError

pytestmark = pytest.mark.slow  # loads a (tiny) SignCLIP model


def tree(folder: Path) -> list[str]:
    """Every file and folder below `folder`, as relative paths."""
    return sorted(str(path.relative_to(folder)) for path in folder.rglob("*"))


@pytest.mark.parametrize(
    ("dataset", "options", "header", "message"),
    [
        ("../etc", [], "id,video_path", "dataset name '../etc' is not allowed"),
        ("../../seg-escape", [], "id,video_path", "dataset name '../../seg-escape' is not allowed"),
        ("talks", ["--segmenter", "no-such-segmenter"], "id,video_path", "unknown segmenter 'no-such-segmenter'"),
        ("talks", [], "id,gloss", "rows without pose_path or video_path"),
        ("talks", ["--vector-type", "float16"], "id,video_path", "unknown vector type 'float16'; choose one of"),
    ],
)
def test_a_bad_segment_request_writes_nothing(
    database_url, tmp_path, monkeypatch, fixtures_dir, tiny_text_model, capsys, dataset, options, header, message
):
    model = str(save_tiny_model(tmp_path / "model", tiny_text_model, "request-test", 16))
    home = tmp_path / "work" / "home"
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SIGNCLIP_HOME", str(home))
    videos = tmp_path / "work" / "videos"
    videos.mkdir(parents=True)
    shutil.copy(fixtures_dir / "test_video.mp4", videos / "long15.mp4")
    (videos / "recordings.csv").write_text(f"{header}\nlong15,{videos / 'long15.mp4'}\n")
    before = tree(tmp_path / "work")
    argv = ["index", "add", "--dataset", dataset, "--manifest", str(videos / "recordings.csv"), "--segment"]
    assert main([*argv, *options, "--model", model]) == 1
    assert message in capsys.readouterr().err
    assert tree(tmp_path / "work") == before  # no pose file, no poses folder, nothing beside the home
    with Store.open(database_url, home=home) as store:
        assert store.list_datasets() == []  # no row


def test_an_unknown_vector_type_is_refused_by_the_request_check(embedder, synthetic_manifest):
    table = read_manifest(synthetic_manifest)
    with pytest.raises(UnknownVectorTypeError, match=r"unknown vector type 'float16'; choose one of vector, halfvec"):
        validate_index_request("signs", table, embedder, IndexOptions(vector_type="float16"))
    request = validate_index_request("signs", table, embedder, IndexOptions(vector_type="halfvec"))
    assert request.options.vector_type == "halfvec"


def test_index_add_keeps_the_vector_type_and_a_rerun_with_another_converts(
    database_url, tmp_path, monkeypatch, synthetic_manifest, capsys
):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))
    add = ["index", "add", "--dataset", "signs", "--manifest", str(synthetic_manifest), "--workers", "1"]
    add += ["--database-url", database_url]
    listing = ["index", "list", "--database-url", database_url]
    assert main([*add, "--vector-type", "halfvec"]) == 0
    assert "embedded 16 now" in capsys.readouterr().out
    assert main(listing) == 0
    assert capsys.readouterr().out.strip().splitlines()[0].endswith("\tvectors: halfvec")
    assert main([*add, "--vector-type", "binary"]) == 0
    captured = capsys.readouterr()
    assert "converted 16 stored vectors to binary" in captured.err and "16 already embedded" in captured.out
    assert main([*add]) == 0  # no --vector-type: the dataset keeps its type
    assert main([*add, "--vector-type", "float16"]) == 1
    assert "unknown vector type 'float16'; choose one of vector, halfvec, binary" in capsys.readouterr().err
    assert main(listing) == 0
    line, index = capsys.readouterr().out.strip().splitlines()
    assert "over binary (hamming): m 16 / ef_construction 64" in index
    assert line.startswith("signs\t16 items\tembeddings: ") and line.endswith(": 16\tvectors: binary")
    with Store.open(database_url, home=tmp_path / "home") as store:
        (model,) = store.dataset_models("signs")
        assert store.has_index(model, kind="binary") and not store.has_index(model, kind="halfvec")
        ids, vectors = store.vectors("signs", model)
        assert store.search("signs", model, vectors[4], k=1, exact=False)[0].item_id == ids[4]


def test_index_add_builds_the_graph_asked_for_and_refuses_one_pgvector_cannot_build(
    database_url, tmp_path, monkeypatch, synthetic_manifest, capsys
):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))
    add = ["index", "add", "--dataset", "signs", "--manifest", str(synthetic_manifest), "--workers", "1"]
    add += ["--database-url", database_url]
    assert main([*add, "--hnsw-m", "40", "--hnsw-ef-construction", "60"]) == 1
    assert "HNSW ef_construction must be at least 2 m (80 for m 40), got 60" in capsys.readouterr().err
    with Store.open(database_url, home=tmp_path / "home") as store:
        assert store.list_datasets() == []  # refused before anything was written
    assert main([*add, "--hnsw-m", "8"]) == 0  # ef_construction: 4 x m
    assert "built the HNSW index (m 8 / ef_construction 32) for this model" in capsys.readouterr().out
    assert main([*add, "--hnsw-ef-construction", "48"]) == 0  # m: the default
    out = capsys.readouterr().out
    assert "16 already embedded" in out
    assert "rebuilt the HNSW index (m 16 / ef_construction 48) for this model" in out
    assert main(["index", "list", "--database-url", database_url]) == 0
    index = capsys.readouterr().out.splitlines()[1]
    assert re.fullmatch(r"HNSW index of 'pose-dtw' over vector \(l2\): m 16 / ef_construction 48, \d+ KiB", index)
    assert main(add) == 0  # no flags: the index stays as it is
    assert main(["index", "list", "--database-url", database_url]) == 0
    assert ": m 16 / ef_construction 48, " in capsys.readouterr().out
