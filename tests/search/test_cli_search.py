"""`signclip index` and `signclip search` end to end with a small saved model, and their errors."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from embedders import save_tiny_model

from signclip.cli import main
from signclip.data.manifest import read_manifest

pytestmark = pytest.mark.slow  # builds and runs a (tiny) SignCLIP model: several seconds


@pytest.fixture
def environment(database_url: str, tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))
    return tmp_path


@pytest.fixture
def gloss_folder(synthetic_manifest: Path, tmp_path: Path) -> Path:
    """The synthetic poses laid out as FOLDER/<gloss>/<id>.pose (the `folder` dataset adapter's layout)."""
    root = tmp_path / "signs"
    for row in read_manifest(synthetic_manifest).itertuples():
        (root / row.gloss).mkdir(parents=True, exist_ok=True)
        shutil.copy(row.pose_path, root / row.gloss / f"{row.id}.pose")
    return root


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_index_search_evaluate_and_remove(environment, gloss_folder, tiny_text_model, capsys):
    model = str(save_tiny_model(environment, tiny_text_model, "search-test", 32))
    add = ["index", "add", "--dataset", "demo", str(gloss_folder), "--model", model, "--signed-language", "ase"]
    code, out, _ = run(capsys, *add, "--batch-size", "5")
    assert code == 0 and "embedded 16 now" in out
    code, out, _ = run(capsys, *add)
    assert code == 0 and "16 already embedded" in out
    code, out, _ = run(capsys, "index", "list")
    dataset, index = out.strip().splitlines()
    assert dataset == "demo\t16 items\tembeddings: search-test: 16\tvectors: vector"
    assert re.fullmatch(
        r"HNSW index of 'search-test' over vector \(cosine\): m 16 / ef_construction 64, \d+ KiB", index
    )

    query = sorted(gloss_folder.rglob("*.pose"))[0]
    code, out, _ = run(
        capsys, "search", "--dataset", "demo", "--pose", str(query), "--model", model, "-k", "3", "--json"
    )
    results = json.loads(out)
    assert code == 0 and len(results) == 3
    assert results[0]["pose_path"] == str(query) and results[0]["distance"] == pytest.approx(0, abs=1e-4)
    wider = ["--ef-search", "400"]  # more candidates: the same nearest three on so small an index
    code, out, _ = run(
        capsys, "search", "--dataset", "demo", "--pose", str(query), "--model", model, "-k", "3", "--json", *wider
    )
    assert code == 0 and [r["pose_path"] for r in json.loads(out)] == [r["pose_path"] for r in results]

    gloss = query.parent.name
    code, out, _ = run(
        capsys, "search", "--dataset", "demo", "--pose", str(query), "--model", model, "--where", f"gloss={gloss}"
    )
    lines = out.strip().splitlines()
    assert code == 0 and len(lines) == 4  # four poses of that gloss
    assert all(f" {gloss} " in line for line in lines)
    code, out, _ = run(
        capsys, "search", "--dataset", "demo", "--pose", str(query), "--model", model, "--where", "gloss=NO-SUCH-SIGN"
    )
    assert code == 0 and out.strip() == "no results: no item of 'demo' has gloss=NO-SUCH-SIGN"

    code, out, err = run(capsys, "search", "--dataset", "demo", "--text", "house", "--model", model, "-k", "2")
    assert code == 0 and len(out.strip().splitlines()) == 2, err
    assert "prompt: <en> <ase> house" in err

    out_dir = environment / "evaluation"
    code, out, _ = run(
        capsys, "search", "evaluate", "--dataset", "demo", "--model", model, "-k", "3", "-o", str(out_dir)
    )
    assert code == 0 and "16 items, 4 glosses" in out
    report = json.loads((out_dir / "report.json").read_text())
    assert report["settings"]["model"] == "search-test" and report["summary"]["k"] == 3
    assert (out_dir / "confusion_heatmap.png").read_bytes()[:4] == b"\x89PNG"

    code, out, _ = run(capsys, "index", "remove", "--dataset", "demo")
    assert code == 0 and "16 items" in out
    code, out, _ = run(capsys, "index", "list")
    assert "no datasets indexed yet" in out


def test_search_errors_are_clear(environment, gloss_folder, tiny_text_model, capsys):
    model = str(save_tiny_model(environment, tiny_text_model, "search-test", 32))
    assert run(capsys, "index", "add", "--dataset", "demo", str(gloss_folder), "--model", model)[0] == 0
    code, _, err = run(capsys, "search", "--dataset", "demo", "--text", "house", "--model", model)
    assert code == 1 and "--raw-text" in err  # no sign language to fill the model's prompt
    code, out, _ = run(
        capsys, "search", "--dataset", "demo", "--text", "<en> <ase> house", "--raw-text", "--model", model
    )
    assert code == 0 and len(out.strip().splitlines()) == 10
    query = str(sorted(gloss_folder.rglob("*.pose"))[0])
    not_a_pose = environment / "notes.txt"
    not_a_pose.write_text("hello")

    code, _, err = run(capsys, "search", "--dataset", "nope", "--pose", query, "--model", model)
    assert code == 1 and "no dataset named 'nope'" in err and "demo" in err
    code, _, err = run(capsys, "search", "--dataset", "demo", "--pose", str(not_a_pose), "--model", model)
    assert code == 1 and "notes.txt" in err and "unknown pose file type" in err
    code, _, err = run(capsys, "search", "--dataset", "demo", "--video", query, "--model", model)
    assert code == 1 and "not a video file" in err
    code, _, err = run(capsys, "search", "--dataset", "demo", "--pose", query, "--model", model, "--where", "color")
    assert code == 1 and "expected FIELD=VALUE" in err
    code, _, err = run(capsys, "search", "--dataset", "demo", "--pose", query, "--model", model, "--ef-search", "0")
    assert code == 1 and "ef_search must be a whole number from 1 to 1000, got 0" in err
    smaller = str(save_tiny_model(environment, tiny_text_model, "search-test", 16))
    code, _, err = run(capsys, "search", "--dataset", "demo", "--pose", query, "--model", smaller)
    assert code == 1 and "32-d embeddings" in err and "16-d" in err
    code, _, err = run(capsys, "search", "evaluate", "--dataset", "demo", "--model", "never-indexed")
    assert code == 1 and "'never-indexed' has no embeddings" in err
    with pytest.raises(SystemExit):
        main(["search", "--dataset", "demo"])  # no query: a usage error


def test_search_uses_the_datasets_model_and_names_it_on_a_mismatch(environment, gloss_folder, tiny_text_model, capsys):
    model = str(save_tiny_model(environment, tiny_text_model, "search-test", 32))
    assert run(capsys, "index", "add", "--dataset", "demo", str(gloss_folder), "--model", model)[0] == 0
    query = str(sorted(gloss_folder.rglob("*.pose"))[0])
    code, out, err = run(capsys, "search", "--dataset", "demo", "--pose", query, "-k", "2")  # no --model
    assert code == 0 and len(out.strip().splitlines()) == 2, err
    assert "'search-test' is untrained" in err  # the warning follows the weights' provenance, not the path
    other = str(save_tiny_model(environment, tiny_text_model, "other-model", 32))
    code, out, err = run(capsys, "search", "--dataset", "demo", "--pose", query, "--model", other)
    assert code == 1 and out == "" and "search-test (16 items)" in err and "--model" in err


def test_index_add_takes_any_folder_and_evaluation_asks_for_labels(environment, gloss_folder, tiny_text_model, capsys):
    model = str(save_tiny_model(environment, tiny_text_model, "search-test", 32))
    poses = sorted(gloss_folder.rglob("*.pose"))
    flat = environment / "archive"
    flat.mkdir()
    shutil.copy(poses[0], flat / "tape-1.pose")
    shutil.copy(poses[5], flat / "tape-2.pose")
    code, out, err = run(capsys, "index", "add", "--dataset", "archive", str(flat), "--model", model)
    assert code == 0 and "embedded 2 now" in out, err
    code, out, _ = run(capsys, "search", "--dataset", "archive", "--pose", str(flat / "tape-1.pose"), "-k", "1")
    assert code == 0 and "tape-1.pose" in out
    code, _, err = run(capsys, "search", "evaluate", "--dataset", "archive")
    assert code == 1 and "evaluation needs labels" in err


def test_a_stopped_index_run_says_what_it_left(environment, gloss_folder, tiny_text_model, capsys):
    model = str(save_tiny_model(environment, tiny_text_model, "search-test", 32))
    assert run(capsys, "index", "add", "--dataset", "demo", str(gloss_folder), "--model", model)[0] == 0
    smaller = str(save_tiny_model(environment, tiny_text_model, "search-test", 16))
    code, _, err = run(capsys, "index", "add", "--dataset", "other", str(gloss_folder), "--model", smaller)
    assert code == 1 and "16-d" in err and "nothing was stored for dataset 'other'" in err


def test_index_add_segment_on_a_real_video_and_the_table_shows_time_ranges(
    environment, fixtures_dir, tiny_text_model, capsys
):
    pytest.importorskip("mediapipe")
    model = str(save_tiny_model(environment, tiny_text_model, "segment-test", 32))
    video = fixtures_dir / "test_video.mp4"
    manifest = environment / "recordings.csv"
    manifest.write_text(f"id,video_path,gloss,signer\nclip,{video},CLIP,s1\n")
    add = ["index", "add", "--dataset", "clips", "--manifest", str(manifest), "--model", model, "--workers", "1"]
    with pytest.raises(SystemExit):
        run(capsys, *add, "--segmenter", "motion")
    assert "--segmenter and --level need --segment" in capsys.readouterr().err
    code, out, _ = run(capsys, *add, "--segment")
    assert code == 0 and "1 recordings -> 3 segments (segmenter 'dgs-2023')" in out and "1 videos extracted" in out
    code, out, _ = run(capsys, *add, "--segment")
    assert code == 0 and "embedded 0 now" in out and "3 already embedded" in out

    code, out, _ = run(capsys, "search", "--dataset", "clips", "--text", "hello", "--raw-text", "-k", "3")
    rows = out.strip().splitlines()
    assert code == 0 and len(rows) == 3
    assert all(str(video) in row for row in rows)
    ranges = sorted(re.search(r"\d\d:\d\d\.\d-\d\d:\d\d\.\d", row).group() for row in rows)
    assert ranges == ["00:00.6-00:00.9", "00:01.0-00:01.2", "00:01.4-00:01.7"]
    code, out, _ = run(capsys, "search", "--dataset", "clips", "--text", "hello", "--raw-text", "--json")
    hits = json.loads(out)
    assert {hit["key"] for hit in hits} == {"clip#sign1", "clip#sign2", "clip#sign3"}
    assert all(hit["start_ms"] < hit["end_ms"] and hit["gloss"] == "" for hit in hits)


def test_without_a_model_the_training_free_index_searches_by_example_and_reranks(environment, gloss_folder, capsys):
    code, out, err = run(capsys, "index", "add", "--dataset", "plain", str(gloss_folder))
    assert code == 0 and "model 'pose-dtw'" in out and "text search needs a trained or converted model" in err
    query = sorted(gloss_folder.rglob("*.pose"))[0]
    code, out, err = run(capsys, "search", "--dataset", "plain", "--pose", str(query), "-k", "3")
    assert code == 0 and "re-ranked the top 16 candidates by DTW alone" in err
    lines = out.strip().splitlines()
    assert len(lines) == 3 and all(" dtw " in line for line in lines) and f" {query.parent.name} " in lines[0]
    code, _, err = run(capsys, "search", "--dataset", "plain", "--pose", str(query), "--candidates", "500")
    assert code == 0 and "500 candidates asked for, but the dataset has 16 items" in err
    code, _, err = run(capsys, "search", "--dataset", "plain", "--text", "house")
    assert code == 1 and err.count("\n") == 1 and "text search needs a trained or converted model: 'pose-dtw'" in err
    evaluate = ["search", "evaluate", "--dataset", "plain", "--rerank", "dtw", "-o", str(environment / "c")]
    code, out, err = run(capsys, *evaluate)
    assert code == 0 and "DTW (brute force)" in out and "pose-dtw index + DTW re-rank" in out
    assert json.loads((environment / "c" / "comparison.json").read_text())["queries"] == 16


def test_search_writes_its_hits_as_csv_and_as_elan_files(environment, gloss_folder, tiny_text_model, capsys):
    import csv

    from signclip.data.eaf import read_eaf

    model = str(save_tiny_model(environment, tiny_text_model, "search-test", 32))
    assert run(capsys, "index", "add", "--dataset", "demo", str(gloss_folder), "--model", model)[0] == 0
    query = sorted(gloss_folder.rglob("*.pose"))[0]
    search = ["search", "--dataset", "demo", "--pose", str(query), "--model", model, "-k", "3"]
    code, _, err = run(capsys, *search, "-o", str(environment / "hits.xlsx"))
    assert code == 1 and "use .csv or .eaf" in err and not (environment / "hits.xlsx").exists()

    code, out, err = run(capsys, *search, "-o", str(environment / "hits.csv"))
    assert code == 0 and f"wrote {environment / 'hits.csv'}" in err
    rows = list(csv.DictReader((environment / "hits.csv").open()))
    printed = [line.split()[2] for line in out.splitlines()]  # rank, distance, gloss, ...
    assert [row["gloss"] for row in rows] == printed and rows[0]["recording"] == rows[0]["key"]  # a whole item
    assert rows[0]["recording"].endswith(query.stem)
    assert [row["rank"] for row in rows] == ["1", "2", "3"] and rows[0]["start_ms"] == ""

    code, _, err = run(capsys, *search, "-o", str(environment / "hits.eaf"))
    written = sorted(environment.glob("hits-*.eaf"))
    assert code == 0 and len(written) == 3  # three whole recordings: one file each
    tiers, media = read_eaf(environment / f"hits-{rows[0]['recording']}.eaf")
    (annotation,) = tiers["SEARCH"]
    assert annotation.value.startswith(f"example {query.name} (rank 1, score 1.000")
    assert annotation.start_ms == 0 and annotation.end_ms > 500 and media == [str(query)]  # spans the pose
