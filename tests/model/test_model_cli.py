"""`signclip demo POSE --texts ... [--model M]`."""

from signclip.cli import main
from signclip.model.hub import save_model
from signclip.poses.io import write_pose


def test_demo_prints_every_text_with_its_score_highest_first(tiny_model, poses, tmp_path, capsys):
    model_dir = save_model(tiny_model, tmp_path / "model")
    pose_path = write_pose(poses[0], tmp_path / "sign.pose")
    texts = ["<en> <ase> house", "<en> <ase> sun", "<en> <ase> police"]
    assert main(["demo", str(pose_path), "--texts", *texts, "--model", str(model_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    printed = [(float(line.split()[0]), line.split("  ", 1)[1]) for line in lines]
    assert sorted(text for _, text in printed) == sorted(texts)
    assert [score for score, _ in printed] == sorted((score for score, _ in printed), reverse=True)
    expected = dict(zip(texts, tiny_model.score(poses[0], texts).tolist(), strict=True))
    assert all(abs(score - expected[text]) < 1e-4 for score, text in printed)


def test_demo_reports_a_missing_pose_without_a_traceback(tiny_model, tmp_path, capsys):
    model_dir = save_model(tiny_model, tmp_path / "model")
    assert main(["demo", str(tmp_path / "missing.pose"), "--texts", "a", "--model", str(model_dir)]) == 1
    assert "missing.pose: no such file" in capsys.readouterr().err


def test_demo_with_an_unknown_model_lists_the_known_ones(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "x.pose"), "--texts", "a", "--model", "nope"]) == 1
    assert "known models:" in capsys.readouterr().err
