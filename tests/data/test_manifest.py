"""The manifest contract: normalized columns, resolved paths, and clear errors for unusable tables."""

from __future__ import annotations

import pandas as pd
import pytest

from signclip.data.manifest import MANIFEST_COLUMNS, ManifestError, read_manifest, write_manifest


def _rows(**overrides) -> pd.DataFrame:
    row = {"id": "a", "pose_path": "poses/a.pose", "text": "house", "gloss": "HOUSE"}
    row.update(overrides)
    return pd.DataFrame([row])


def test_round_trip_resolves_relative_paths(tmp_path):
    (tmp_path / "poses").mkdir()
    (tmp_path / "poses" / "a.pose").write_bytes(b"x")
    path = write_manifest(_rows(start_ms=100), tmp_path / "manifest.csv")
    table = read_manifest(path, check_files=True)
    assert list(table.columns) == MANIFEST_COLUMNS
    assert table["pose_path"][0] == str(tmp_path / "poses" / "a.pose")
    assert table["start_ms"][0] == 100
    assert pd.isna(table["end_ms"][0])


def test_parquet_round_trip(tmp_path):
    path = write_manifest(_rows(), tmp_path / "m.parquet")
    assert read_manifest(path)["text"][0] == "house"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.concat([_rows(), _rows()]), "duplicate ids"),
        (_rows(colour="red"), "unknown columns"),
        (_rows(id=""), "empty id"),
        (_rows(pose_path=""), "without pose_path or video_path"),
        (pd.DataFrame({"text": ["x"]}), "no 'id' column"),
    ],
)
def test_unusable_tables_are_refused_and_nothing_is_written(tmp_path, table, message):
    path = tmp_path / "manifest.csv"
    path.write_text("keep me")
    with pytest.raises(ManifestError, match=message):
        write_manifest(table, path)
    assert path.read_text() == "keep me"


def test_missing_files_are_listed(tmp_path):
    path = write_manifest(_rows(), tmp_path / "manifest.csv")
    with pytest.raises(ManifestError, match="1 listed files are missing"):
        read_manifest(path, check_files=True)


def test_empty_manifest(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text(",".join(MANIFEST_COLUMNS) + "\n")
    with pytest.raises(ManifestError, match="no rows"):
        read_manifest(path)
