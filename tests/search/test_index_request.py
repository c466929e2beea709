"""A bad `index add --segment` request writes nothing at all: not a pose, not a row, not a folder.

Its manifest names a real video, so a request checked after extraction would leave a pose file behind
(as it once did: `--dataset ../etc` wrote SIGNCLIP_HOME/etc/long15.pose before refusing the name).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from embedders import save_tiny_model

from signclip.cli import main
from signclip.store.store import Store

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
