"""`fingerspelling-lexicon` and the shared prepare_dataset checks, on tiny lexicons and the real data."""

from __future__ import annotations

import pandas as pd
import pytest

from signclip.data.datasets import DATASETS, DatasetError, dataset_names, prepare_dataset
from signclip.data.manifest import MANIFEST_COLUMNS
from signclip.data.synthetic import synthetic_pose
from signclip.errors import ConfigError
from signclip.poses.io import write_pose

HEADER = "path,spoken_language,signed_language,start,end,words,glosses,priority\n"


def _lexicon(root, letters=("A", "B", "C", "D"), languages=("ase", "gsg", "sgg", "bfi"), write=True):
    spoken = {"ase": "en", "gsg": "de", "sgg": "de", "bfi": "en"}
    lines = []
    for language in languages:
        for number, letter in enumerate(letters):
            path = f"{language}/fs-{language}-{number}.pose"
            if write:
                write_pose(synthetic_pose(number, 0), root / path)
            lines.append(f"{path},{spoken[language]},{language},0,1000,{letter},{letter},0\n")
    (root / "index.csv").write_text(HEADER + "".join(lines), encoding="utf-8")
    return root


def test_registry_lists_every_adapter():
    assert dataset_names() == list(DATASETS)
    assert {
        "fingerspelling-lexicon",
        "folder",
        "asl-signs",
        "rwth-fingerspelling",
        "asl-citizen",
        "sem-lex",
        "wlasl",
        "spreadthesign",
        "rwth-boston-104",
    } <= set(dataset_names())


def test_lexicon_rows(tmp_path):
    table = prepare_dataset("fingerspelling-lexicon", _lexicon(tmp_path), seed=0)
    assert list(table.columns) == MANIFEST_COLUMNS
    assert len(table) == 16
    row = table.set_index("id").loc["gsg-fs-gsg-2"]
    assert (row["text"], row["gloss"], row["spoken_language"], row["signed_language"]) == ("C", "C", "de", "gsg")
    assert row["pose_path"] == str(tmp_path / "gsg" / "fs-gsg-2.pose")
    assert row["signer"] == "signer-1"
    assert table["start_ms"].isna().all() and table["end_ms"].isna().all()
    assert table.attrs["split_by"] == "random"


def test_lexicon_language_split_holds_out_whole_languages(tmp_path):
    table = prepare_dataset("fingerspelling-lexicon", _lexicon(tmp_path), split_by="language", seed=1)
    assert (table.groupby("signed_language")["split"].nunique() == 1).all()
    assert set(table["split"]) == {"train", "val", "test"}
    again = prepare_dataset("fingerspelling-lexicon", tmp_path, split_by="language", seed=1)
    assert again["split"].tolist() == table["split"].tolist()


def test_text_is_unicode_nfc(tmp_path):
    _lexicon(tmp_path, letters=("A\u0308", "Ä"), languages=("sgg",))
    table = prepare_dataset("fingerspelling-lexicon", tmp_path, val_fraction=0, test_fraction=0)
    assert table["gloss"].tolist() == ["Ä", "Ä"]


def test_missing_files_are_listed_then_skippable(tmp_path):
    _lexicon(tmp_path)
    (tmp_path / "ase" / "fs-ase-1.pose").unlink()
    (tmp_path / "bfi" / "fs-bfi-3.pose").unlink()
    with pytest.raises(DatasetError, match="2 problems") as error:
        prepare_dataset("fingerspelling-lexicon", tmp_path)
    assert "fs-ase-1.pose" in str(error.value) and "fs-bfi-3.pose" in str(error.value)
    table = prepare_dataset("fingerspelling-lexicon", tmp_path, skip_problems=True)
    assert len(table) == 14
    assert len(table.attrs["problems"]) == 2


def test_duplicate_rows_are_problems(tmp_path):
    _lexicon(tmp_path, languages=("ase",))
    index = tmp_path / "index.csv"
    index.write_text(index.read_text() + index.read_text().splitlines(keepends=True)[1])
    with pytest.raises(DatasetError, match="duplicate id"):
        prepare_dataset("fingerspelling-lexicon", tmp_path)
    assert len(prepare_dataset("fingerspelling-lexicon", tmp_path, skip_problems=True)) == 4


def test_verify_reports_unreadable_poses(tmp_path):
    _lexicon(tmp_path, languages=("ase",))
    (tmp_path / "ase" / "fs-ase-0.pose").write_bytes(b"not a pose")
    assert len(prepare_dataset("fingerspelling-lexicon", tmp_path)) == 4
    with pytest.raises(DatasetError, match="unreadable pose"):
        prepare_dataset("fingerspelling-lexicon", tmp_path, verify=True)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "index.csv: no such file"),
        ("path,glosses\nx.pose,A\n", "missing columns"),
        (HEADER, "no rows"),
        (b"\xff\xfe\x00garbage", "not a readable CSV"),
    ],
)
def test_bad_index_files(tmp_path, content, message):
    if isinstance(content, bytes):
        (tmp_path / "index.csv").write_bytes(content)
    elif content is not None:
        (tmp_path / "index.csv").write_text(content)
    with pytest.raises(DatasetError, match=message):
        prepare_dataset("fingerspelling-lexicon", tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ConfigError, match="unknown dataset"):
        prepare_dataset("imagenet", tmp_path)
    with pytest.raises(DatasetError, match="no such dataset folder"):
        prepare_dataset("fingerspelling-lexicon", tmp_path / "absent")
    with pytest.raises(ConfigError, match="has no option"):
        prepare_dataset("fingerspelling-lexicon", _lexicon(tmp_path), options={"camera": "cam1"})
    with pytest.raises(ConfigError, match="unknown split method"):
        prepare_dataset("fingerspelling-lexicon", tmp_path, split_by="alphabetical")


def test_real_fingerspelling_data(fingerspelling_dir):
    index = pd.read_csv(fingerspelling_dir / "index.csv", dtype=str, keep_default_na=False)
    table = prepare_dataset("fingerspelling-lexicon", fingerspelling_dir, split_by="language", seed=0)
    assert len(table) == len(index)
    assert set(table["signed_language"]) == set(index["signed_language"])
    assert (table.groupby("signed_language")["split"].nunique() == 1).all()
    assert table["signer"].unique().tolist() == ["signer-1"]
    assert table["text"].str.len().gt(0).all()
    assert table.set_index("id").loc["ase-fs-stse28e9ac023b0e29ca0a3acc12dc46540", "text"] == "A"


def test_real_dummy_lexicon(fixtures_dir):
    table = prepare_dataset(
        "fingerspelling-lexicon", fixtures_dir / "dummy_lexicon", val_fraction=0.25, test_fraction=0.25
    )
    assert sorted(table["text"]) == ["Essen", "Kinder", "Kleine", "Pizza"]
    assert set(table["signed_language"]) == {"sgg"}
    assert sorted(table["split"].value_counts().tolist()) == [1, 1, 2]
