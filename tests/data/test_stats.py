"""Dataset statistics: counts per language, concept, signer and split; pose lengths; the written files."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from signclip.data.manifest import read_manifest
from signclip.data.stats import STATS_FILES, dataset_stats, write_stats
from signclip.data.synthetic import generate_dataset
from signclip.errors import SignclipError
from signclip.poses.io import read_pose

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
FINGERSPELLING = SHARED / "data" / "fingerspelling"


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> pd.DataFrame:
    return read_manifest(generate_dataset(tmp_path_factory.mktemp("stats"), glosses=3, signers=2, repetitions=2))


def test_counts_of_a_synthetic_table(synthetic):
    table = synthetic.copy()
    table.loc[table["gloss"] == table["gloss"].iloc[0], "signed_language"] = "gsg"
    stats = dataset_stats(table, progress=False)
    assert stats.concept_column == "gloss"
    languages = stats.languages.set_index("signed_language")["items"].to_dict()
    assert languages == {"ase": 8, "gsg": 4}
    assert stats.concepts["items"].tolist() == [4, 4, 4]
    assert stats.concepts["signed_languages"].max() == 1
    assert stats.signers.set_index("signer")["items"].to_dict() == {"signer-0": 6, "signer-1": 6}
    assert stats.splits.set_index("split")["items"].to_dict() == {"test": 6, "train": 6}


def test_lengths_are_the_poses_frames_and_a_segment_counts_its_own(synthetic):
    table = synthetic.head(2).copy()
    pose = read_pose(table["pose_path"].iloc[0])
    frames, fps = pose.body.data.shape[0], float(pose.body.fps)
    table.loc[table.index[1], ["pose_path", "start_ms", "end_ms"]] = [table["pose_path"].iloc[0], 0.0, 500.0]
    lengths = dataset_stats(table, progress=False).lengths.set_index("id")
    assert lengths.loc[table["id"].iloc[0], "frames"] == frames
    assert lengths.loc[table["id"].iloc[0], "seconds"] == pytest.approx(frames / fps)
    assert lengths.loc[table["id"].iloc[1], "frames"] == round(0.5 * fps)


def test_unreadable_poses_are_listed_not_counted(synthetic, tmp_path):
    table = synthetic.head(3).copy()
    broken = tmp_path / "broken.pose"
    broken.write_bytes(b"not a pose")
    table.loc[table.index[0], "pose_path"] = str(broken)
    stats = dataset_stats(table, progress=False)
    assert [item for item, _ in stats.unreadable] == [table["id"].iloc[0]]
    assert "broken.pose" in stats.unreadable[0][1]
    assert len(stats.lengths) == 2


def test_an_empty_table_is_refused(synthetic):
    with pytest.raises(SignclipError, match="no rows"):
        dataset_stats(synthetic.head(0), progress=False)


@pytest.mark.skipif(not FINGERSPELLING.is_dir(), reason="needs ../shared/data/fingerspelling")
def test_fingerspelling_statistics_and_plots(tmp_path):
    from signclip.data.datasets import prepare_dataset

    table = prepare_dataset("fingerspelling-lexicon", FINGERSPELLING)
    stats = dataset_stats(table, progress=False)
    paths = write_stats(stats, tmp_path)
    assert [p.name for p in paths] == list(STATS_FILES)
    assert stats.languages["signed_language"].nunique() == 15  # the index lists 15 alphabets
    assert int(stats.languages["items"].sum()) == len(table) == 470
    shared_a = stats.concepts.set_index("concept").loc["A", "signed_languages"]
    assert shared_a >= 10  # the letter A is fingerspelled in most of the 15 alphabets
    assert stats.lengths["frames"].min() >= 1 and len(stats.lengths) == 470
    for name in ("items_per_language.png", "languages_per_concept.png", "length_histogram.png"):
        assert (tmp_path / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    summary = (tmp_path / "summary.md").read_text()
    assert "signed languages: 15" in summary and "items: 470" in summary


def test_cli_writes_the_files_and_prints_totals(synthetic, tmp_path, capsys):
    from signclip.cli import main
    from signclip.data.manifest import write_manifest

    manifest = write_manifest(synthetic, tmp_path / "manifest.csv")
    assert main(["dataset", "stats", str(manifest), "-o", str(tmp_path / "stats")]) == 0
    assert "12 items, 1 signed languages, 3 concepts, 2 signers" in capsys.readouterr().out
    assert sorted(p.name for p in (tmp_path / "stats").iterdir()) == sorted(STATS_FILES)
