"""The README's main job end to end: generated data -> training -> embedded PostgreSQL -> search -> evaluation."""

from __future__ import annotations

import shutil

import pytest

from signclip.data.synthetic import WORDS, synthetic_pose
from signclip.errors import SignclipError
from signclip.poses.io import write_pose
from signclip.quickstart import run_quickstart, signclip_command


@pytest.mark.slow
def test_quickstart_on_generated_data(tmp_path):
    lines: list[str] = []
    summary = run_quickstart(tmp_path / "work", say=lines.append)
    assert (tmp_path / "work" / "model" / "best" / "model.safetensors").is_file()
    for method in ("embedding", "dtw"):
        assert (tmp_path / "work" / "report" / method / "report.json").is_file()
        assert (tmp_path / "work" / "report" / method / "confusion_heatmap.png").stat().st_size > 1000
    query_gloss = next(line for line in lines if "search by example" in line).split("(gloss ")[1].split(",")[0]
    assert summary["by_example"][0][0] == query_gloss
    assert all(distance > 1e-4 for _, _, distance in summary["by_example"])  # the query's own item is left out
    command = next(line for line in lines if line.startswith("done. Try:")).split()[3]
    assert shutil.which(command) is not None, command
    assert sum(gloss == query_gloss for gloss, _, _ in summary["by_text"]) >= 3
    assert summary["embedding"]["precision_at_k"] > summary["dtw"]["precision_at_k"]
    assert any(line.strip().startswith("figures: seed 0, 1 torch thread(s), torch ") for line in lines)
    # a rerun in the same folder replaces the earlier run
    again = run_quickstart(tmp_path / "work", say=lambda _: None)
    assert again["embedding"] == summary["embedding"] and again["dtw"] == summary["dtw"]  # the same figures, exactly


@pytest.mark.slow
def test_quickstart_on_a_users_folder(tmp_path):
    for gloss in range(4):
        for signer in range(3):
            for repetition in range(2):
                write_pose(
                    synthetic_pose(gloss, signer, seed=repetition),
                    tmp_path / "mine" / WORDS[gloss] / f"s{signer}-r{repetition}.pose",
                )
    summary = run_quickstart(tmp_path / "work", folder=tmp_path / "mine", say=lambda _: None)
    assert summary["embedding"]["items"] == 24


@pytest.mark.slow
def test_quickstart_on_one_gloss_says_the_metrics_are_undefined(tmp_path):
    for signer in range(3):
        for repetition in range(2):
            write_pose(
                synthetic_pose(0, signer, seed=repetition),
                tmp_path / "mine" / WORDS[0] / f"s{signer}-{repetition}.pose",
            )
    lines: list[str] = []
    summary = run_quickstart(tmp_path / "work", folder=tmp_path / "mine", say=lines.append)
    assert summary["embedding"]["precision_at_k"] is None and "one gloss" in summary["embedding"]["undefined"]
    assert any("retrieval metrics undefined" in line for line in lines)
    assert not any("precision@5 1.000" in line for line in lines)


def test_the_suggested_command_runs_from_this_shell():
    assert shutil.which(signclip_command().split()[0]) is not None


def test_quickstart_refuses_a_foreign_folder(tmp_path):
    (tmp_path / "precious.txt").write_text("keep")
    with pytest.raises(SignclipError, match="not made by signclip quickstart"):
        run_quickstart(tmp_path, say=lambda _: None)
    assert (tmp_path / "precious.txt").read_text() == "keep"
