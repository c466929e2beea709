"""The original SignCLIP architecture and checkpoint import, checked against the original's composition.

A small checkpoint in the original fairseq/MMPT layout (module names, key names, fp16 tensors, fairseq's
`mmmodel.` prefix, argparse/numpy objects beside the weights) comes from tests/mmpt_checkpoint.py, through
the fixtures of tests/conftest.py (`mmpt_checkpoint`, `converted_mmpt`, ...). The reference
forward pass below follows the original step by step with transformers' BertModel and plain torch:
every pose padded to max_video_len, [CLS] video [SEP] with contiguous positions, texts as the
original aligner built them ([CLS] [SEP] caption [SEP] padding).
"""

from __future__ import annotations

import argparse
import collections
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmpt_checkpoint import HIDDEN, MAX_VIDEO_LEN, TEXT_MAX_LEN, VOCAB, original_modules, tiny_config, write_checkpoint
from pose_format import Pose
from transformers import BertTokenizerFast

from signclip.cli import main
from signclip.data.manifest import read_manifest
from signclip.data.prompts import render_prompts
from signclip.data.synthetic import generate_dataset, synthetic_pose
from signclip.data.table import read_table_poses
from signclip.errors import ConfigError, ModelFileError
from signclip.evaluation.retrieval import evaluate_model, retrieval_metrics
from signclip.model.config import model_config
from signclip.model.convert_mmpt import CheckpointError, convert_checkpoint, model_locations, read_checkpoint
from signclip.model.hub import create_model, load_model
from signclip.poses import holistic
from signclip.poses.io import pose_from_array
from signclip.poses.transforms import Pipeline, anonymize_pose

TEXTS = ["<en> <ase> house", "random text", "<en> <gsg> sun", "how are you?"]


@pytest.fixture(scope="module")
def model(converted_mmpt):
    return load_model(converted_mmpt.output)


@pytest.fixture(scope="module")
def poses() -> list[Pose]:
    """Four synthetic poses of 12, 34, 20 and 27 frames."""
    lengths = [12, 36, 20, 27]
    return [crop(synthetic_pose(gloss=i, signer=i % 2, seed=i), n) for i, n in enumerate(lengths)]


def crop(pose: Pose, frames: int) -> Pose:
    data = np.ma.getdata(pose.body.data)[:frames]
    return pose_from_array(pose.header, data, pose.body.fps, confidence=pose.body.confidence[:frames])


# ----------------------------------------------------------------------------- the reference forward pass


class Original:
    """The original model's forward pass, from the checkpoint's tensors."""

    def __init__(self, checkpoint: dict, tokenizer):
        weights = {k.removeprefix("mmmodel."): v.float() for k, v in checkpoint["model"].items()}
        video, self.text = original_modules()
        for module, prefix in ((video, "video_encoder."), (self.text, "text_encoder.")):
            module.load_state_dict(
                {
                    k.removeprefix(prefix): v
                    for k, v in weights.items()
                    if k.startswith(prefix) and "position_ids" not in k
                }
            )
        self.mlp, self.video = video.videomlp, video.bert
        self.tokenizer = tokenizer
        for module in (video, self.text):
            module.eval()

    @torch.no_grad()
    def embed_poses(self, frames: torch.Tensor, vmasks: torch.Tensor) -> torch.Tensor:
        """MMPTModel.forward + MMFusionSeparate.forward_video: frames (B, T, F), vmasks (B, T) -> (B, H)."""
        batch, length, features = frames.shape
        padded = torch.zeros(batch, MAX_VIDEO_LEN, features)
        padded[:, :length] = frames
        vmask = torch.zeros(batch, MAX_VIDEO_LEN, dtype=torch.bool)
        vmask[:, :length] = vmasks
        tokens = self.mlp.linear2(self.mlp.LayerNorm(F.gelu(self.mlp.linear1(padded))))
        cls_sep = self.video.embeddings.word_embeddings(
            torch.tensor([self.tokenizer.cls_token_id, self.tokenizer.sep_token_id])
        )
        embeds = torch.cat([cls_sep[0].expand(batch, 1, -1), tokens, cls_sep[1].expand(batch, 1, -1)], dim=1)
        ones = torch.ones(batch, 1, dtype=torch.bool)
        hidden = self.video(
            inputs_embeds=embeds,
            attention_mask=torch.cat([ones, vmask, ones], dim=1).long(),
            position_ids=torch.arange(MAX_VIDEO_LEN + 2).expand(batch, -1),
            token_type_ids=torch.zeros(batch, MAX_VIDEO_LEN + 2, dtype=torch.long),
        ).last_hidden_state
        pool = torch.cat([~ones, vmask, ones], dim=1).float()
        return (hidden * pool[..., None]).sum(1) / pool.sum(1, keepdim=True)

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> torch.Tensor:
        """Aligner._build_text_seq + MMFusionSeparate.forward_text: texts -> (B, H)."""
        t = self.tokenizer
        caps, cmasks = [], []
        for text in texts:
            ids = [t.cls_token_id, t.sep_token_id, *t(text, add_special_tokens=False)["input_ids"][: TEXT_MAX_LEN - 3]]
            ids.append(t.sep_token_id)
            cmasks.append([1] * len(ids) + [0] * (TEXT_MAX_LEN - len(ids)))
            caps.append(ids + [t.pad_token_id] * (TEXT_MAX_LEN - len(ids)))
        caps, cmasks = torch.tensor(caps), torch.tensor(cmasks)
        hidden = self.text(
            input_ids=torch.cat([caps[:, :1], caps[:, 2:]], dim=1),
            attention_mask=torch.cat([cmasks[:, :1], cmasks[:, 2:]], dim=1),
            token_type_ids=torch.zeros(len(texts), TEXT_MAX_LEN - 1, dtype=torch.long),
        ).last_hidden_state
        pool = torch.cat([torch.zeros(len(texts), 1), cmasks[:, 2:].float()], dim=1)
        return (hidden * pool[..., None]).sum(1) / pool.sum(1, keepdim=True)


@pytest.fixture(scope="module")
def original(mmpt_checkpoint, model) -> Original:
    return Original(mmpt_checkpoint, model.text_encoder.tokenizer)


def stack(tensors) -> tuple[torch.Tensor, torch.Tensor]:
    """Zero-pad preprocessed poses to the longest, as the original demo batched them (all frames 'real')."""
    longest = max(t.frames for t in tensors)
    frames = torch.zeros(len(tensors), longest, tensors[0].data.shape[1])
    for row, tensor in enumerate(tensors):
        frames[row, : tensor.frames] = torch.from_numpy(tensor.data)
    return frames, torch.ones(len(tensors), longest, dtype=torch.bool)


# ----------------------------------------------------------------------------- conversion and parity


def test_conversion_maps_every_tensor_and_writes_a_loadable_model_directory(converted_mmpt, mmpt_checkpoint):
    original_tensors = [k for k in mmpt_checkpoint["model"] if not k.endswith("position_ids")]
    assert converted_mmpt.tensors == len(original_tensors)
    assert converted_mmpt.source_dtypes == ("float16",)
    assert len(converted_mmpt.dropped_buffers) == 2 and converted_mmpt.kept_initial == ("logit_scale",)
    assert {p.name for p in converted_mmpt.output.iterdir()} >= {"config.json", "model.safetensors", "text_encoder"}
    saved = json.loads((converted_mmpt.output / "config.json").read_text())
    assert saved["architecture"] == "mmpt" and saved["similarity"] == "dot"
    assert any("mapped" in line for line in converted_mmpt.lines())


def test_a_converted_model_knows_it_came_from_the_checkpoint(converted_mmpt, mmpt_checkpoint_file):
    model = load_model(converted_mmpt.output)
    assert model.trained is True and model.provenance.kind == "converted"
    assert model.provenance.checkpoint == str(Path(mmpt_checkpoint_file).resolve())
    assert model.provenance.describe() == f"converted from the MMPT checkpoint {Path(mmpt_checkpoint_file).resolve()}"


def test_pose_embeddings_equal_the_original_forward_pass(model, original, poses):
    tensors = [model.preprocess(pose) for pose in poses]
    ours = model.embed_poses(poses, normalize=False)
    reference = torch.cat([original.embed_poses(*stack([t])) for t in tensors]).numpy()
    assert np.abs(ours - reference).max() < 1e-5
    normalized = model.embed_poses(poses)
    assert np.allclose(normalized, reference / np.linalg.norm(reference, axis=1, keepdims=True), atol=1e-5)


def test_text_embeddings_equal_the_original_forward_pass(model, original):
    long_text = " ".join(["house"] * 30)  # longer than the original's 13 caption tokens: truncated alike
    texts = [*TEXTS, long_text, ""]
    assert np.abs(model.embed_texts(texts, normalize=False) - original.embed_texts(texts).numpy()).max() < 1e-5


def test_score_is_the_raw_dot_product_like_the_original(model, original, poses):
    tensor = model.preprocess(poses[0])
    expected = (original.embed_texts(TEXTS) @ original.embed_poses(*stack([tensor]))[0]).numpy()
    scores = model.score(poses[0], TEXTS)
    assert np.allclose(scores, expected, rtol=1e-5, atol=1e-4)
    cosine = model.embed_texts(TEXTS) @ model.embed_poses([poses[0]])[0]
    assert np.abs(scores - cosine).max() > 0.1


def test_embeddings_do_not_depend_on_the_batch_with_padding_masked(model, poses):
    alone = np.concatenate([model.embed_poses([pose], normalize=False) for pose in poses])
    together = model.embed_poses(poses, batch_size=4, normalize=False)
    assert np.abs(alone - together).max() < 1e-5


def test_the_exact_reproduction_switch_reproduces_the_originals_batch_dependence(
    mmpt_checkpoint_file, mmpt_text_folder, original, poses, tmp_path
):
    report = convert_checkpoint(
        mmpt_checkpoint_file, tiny_config(mmpt_text_folder, mask_padding=False), tmp_path / "exact"
    )
    exact = load_model(report.output)
    tensors = [exact.preprocess(pose) for pose in poses]
    together = exact.embed_poses(poses, batch_size=4, normalize=False)
    alone = np.concatenate([exact.embed_poses([pose], normalize=False) for pose in poses])
    short = 0  # 12 frames, padded to 36 when batched with the others: the original counted the padding
    assert np.abs(together[short] - alone[short]).max() > 1e-3
    original_batched = original.embed_poses(*stack(tensors)).numpy()
    assert np.abs(together - original_batched).max() < 1e-5


def test_a_pose_longer_than_max_video_len_is_embedded_as_the_mean_of_its_windows(model, poses):
    first, second = poses[1], poses[3]  # 34 + 27 frames: windows start at 0, 20 (stride 20) and 21
    data = np.concatenate([np.ma.getdata(p.body.data) for p in (first, second)])
    confidence = np.concatenate([p.body.confidence for p in (first, second)])
    long_pose = pose_from_array(first.header, data, first.body.fps, confidence=confidence)
    tensor = model.preprocess(long_pose)
    assert tensor.frames == 61
    windows = [
        type(tensor)(tensor.data[s : s + MAX_VIDEO_LEN], tensor.mask[s : s + MAX_VIDEO_LEN]) for s in (0, 20, 21)
    ]
    expected = model.embed_pose_tensors(windows, normalize=False).mean(axis=0)
    assert np.allclose(model.embed_poses([long_pose], normalize=False)[0], expected, atol=1e-5)


# ----------------------------------------------------------------------------- refusals


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ("rename", r"missing \(video_encoder\.videomlp\.linear1\.weight\).*unexpected \(video_encoder\.videomlp\.lin1"),
        ("reshape", r"wrong-shaped \(text_encoder\.encoder\.layer\.1\.output\.dense\.bias \(31,\) != \(32,\)\)"),
        ("extra", r"unexpected \(video_projection\.linear\.weight\)"),
    ],
)
def test_a_checkpoint_that_does_not_fit_is_refused_naming_the_tensor(
    mmpt_checkpoint, mmpt_text_folder, tmp_path, change, named
):
    broken = dict(mmpt_checkpoint, model=collections.OrderedDict(mmpt_checkpoint["model"]))
    weights = broken["model"]
    if change == "rename":
        weights["mmmodel.video_encoder.videomlp.lin1.weight"] = weights.pop(
            "mmmodel.video_encoder.videomlp.linear1.weight"
        )
    elif change == "reshape":
        weights["mmmodel.text_encoder.encoder.layer.1.output.dense.bias"] = torch.zeros(31, dtype=torch.float16)
    else:
        weights["mmmodel.video_projection.linear.weight"] = torch.zeros(HIDDEN, HIDDEN)
    path = write_checkpoint(broken, tmp_path / "broken.pt")
    with pytest.raises(ModelFileError, match=named):
        convert_checkpoint(path, tiny_config(mmpt_text_folder), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_wrong_tokenizer_or_architecture_is_refused(mmpt_checkpoint_file, mmpt_text_folder, tmp_path):
    other = tmp_path / "other-tokenizer"
    (tmp_path / "vocab.txt").write_text("\n".join([*VOCAB, "extra"]) + "\n")
    BertTokenizerFast(vocab=str(tmp_path / "vocab.txt")).save_pretrained(other)
    with pytest.raises(ConfigError, match=r"has 46 tokens but the text tower .* has 45"):
        convert_checkpoint(mmpt_checkpoint_file, tiny_config(mmpt_text_folder), tmp_path / "a", tokenizer=str(other))
    with pytest.raises(ConfigError, match="need 'mmpt'"):
        convert_checkpoint(mmpt_checkpoint_file, "signclip-small", tmp_path / "b")


def test_checkpoint_reading_never_unpickles_code_unless_trusted(mmpt_checkpoint, tmp_path):
    plain = write_checkpoint(
        {"args": argparse.Namespace(lr=[1e-4]), "model": mmpt_checkpoint["model"]}, tmp_path / "a.pt"
    )
    assert set(read_checkpoint(plain)["model"]) == set(mmpt_checkpoint["model"])
    fairseq_like = write_checkpoint(mmpt_checkpoint, tmp_path / "b.pt")  # numpy scalars: read as placeholders
    loaded = read_checkpoint(fairseq_like)
    assert torch.equal(
        loaded["model"]["mmmodel.text_encoder.pooler.dense.bias"],
        mmpt_checkpoint["model"]["mmmodel.text_encoder.pooler.dense.bias"],
    )
    legacy = tmp_path / "legacy.pt"  # torch's pre-1.6 format with numpy objects: readable only when trusted
    torch.save(mmpt_checkpoint, legacy, _use_new_zipfile_serialization=False)
    with pytest.raises(CheckpointError, match="--trust-checkpoint"):
        read_checkpoint(legacy)
    assert set(read_checkpoint(legacy, trust_checkpoint=True)["model"]) == set(mmpt_checkpoint["model"])
    garbage = tmp_path / "c.pt"
    garbage.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match=r"c\.pt: not a checkpoint in the zip format"):
        read_checkpoint(garbage)
    with pytest.raises(CheckpointError, match=r"c\.pt: not a readable torch checkpoint: invalid load key"):
        read_checkpoint(garbage, trust_checkpoint=True)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        read_checkpoint(tmp_path / "absent.pt")


# ----------------------------------------------------------------------------- registry and CLI


def test_a_converted_model_is_found_by_name_in_signclip_home(
    mmpt_checkpoint_file, mmpt_text_folder, tmp_path, monkeypatch, poses
):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))
    report = convert_checkpoint(mmpt_checkpoint_file, tiny_config(mmpt_text_folder))
    assert report.output == tmp_path / "home" / "models" / "tiny-mmpt"
    by_name = load_model("tiny-mmpt")
    assert np.array_equal(by_name.embed_poses(poses[:2]), load_model(report.output).embed_poses(poses[:2]))
    statuses = {location.name: location for location in model_locations()}
    assert statuses["tiny-mmpt"].status == "local" and statuses["signclip-e7.2"].status == "missing"
    assert "convert-mmpt checkpoint_best.pt --config signclip-e7.2" in statuses["signclip-e7.2"].hint


def test_cli_converts_lists_and_demos(mmpt_checkpoint_file, mmpt_text_folder, tmp_path, monkeypatch, capsys, poses):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(tiny_config(mmpt_text_folder)))
    assert main(["convert-mmpt", mmpt_checkpoint_file, "--config", str(config_file)]) == 0
    assert "mapped" in capsys.readouterr().out
    assert main(["models"]) == 0
    listing = capsys.readouterr().out
    assert "tiny-mmpt" in listing and "drive.google.com" in listing
    assert main(["demo", str(tmp_path / "pose.pose"), "--model", "tiny-mmpt", "--texts", "a"]) == 1
    assert "pose.pose" in capsys.readouterr().err
    pose_path = tmp_path / "pose.pose"
    with open(pose_path, "wb") as f:
        poses[0].write(f)
    assert main(["demo", str(pose_path), "--model", "tiny-mmpt", "--texts", *TEXTS]) == 0
    printed = [float(line.split()[0]) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert np.allclose(printed, sorted(load_model("tiny-mmpt").score(pose_path, TEXTS), reverse=True), atol=1e-3)


def test_a_released_model_that_is_not_converted_says_where_to_get_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "empty"))
    with pytest.raises(
        ConfigError, match=r"drive\.google\.com.*signclip convert-mmpt checkpoint_best\.pt --config signclip-e7\.2"
    ):
        load_model("signclip-e7.2")
    assert main(["models", "signclip-e7.2"]) == 0
    assert "--tokenizer bert-base-cased" in capsys.readouterr().out


def test_a_fresh_mmpt_model_starts_both_towers_from_the_pretrained_text_model(tiny_bert_512):
    """As the original's MMBertForEncoder.from_pretrained(bert_name): the video tower's BERT embeddings and first
    layers are the text model's; layers beyond it and the VideoTokenMLP start random."""
    fresh = {
        "base": "signclip-e7.2",
        "name": "fresh-mmpt",
        "tower_dim": 32,
        "text_encoder": {"name": str(tiny_bert_512)},
        "pose_encoder": {"hidden_size": 32, "heads": 2, "intermediate_size": 64, "layers": 2, "vocab_size": 30522},
    }
    model = create_model(fresh)
    text, video = model.text_encoder.model.state_dict(), model.pose_encoder.bert.state_dict()
    shared = ["embeddings.word_embeddings.weight", "embeddings.position_embeddings.weight", "pooler.dense.weight"]
    for key in [*shared, "encoder.layer.0.attention.self.query.weight", "encoder.layer.0.output.dense.bias"]:
        assert torch.equal(video[key], text[key]), key
    assert "encoder.layer.1.attention.self.query.weight" not in text  # the 1-layer text model: layer 1 stays random
    assert model.provenance.kind == "untrained" and model.embed_poses([synthetic_pose(0, 0)]).shape == (1, 32)
    with pytest.raises(ConfigError, match=r"word_embeddings\.weight is \(28996, 32\).*\(30522, 32\)"):
        create_model({**fresh, "pose_encoder": {**fresh["pose_encoder"], "vocab_size": 28996}})
    with pytest.raises(ConfigError, match=r"no untrained form.*give the model another `name`"):
        create_model({**fresh, "name": "signclip-e7.2"})


def test_the_release_configs_describe_the_original_models():
    e72, finger = model_config("signclip-e7.2"), model_config("fingerclip")
    assert (e72.pose_encoder.layers, e72.input_features, e72.text_encoder.name) == (12, 609, "bert-base-cased")
    assert (finger.pose_encoder.layers, finger.input_features, finger.text_encoder.name) == (6, 63, "bert-base-uncased")
    assert e72.pose_encoder.max_video_len == 256 and e72.text_encoder.max_length == 63  # dataset.max_len 64


# ----------------------------------------------------------------------------- preprocessing parity


def original_e7_2_features(pose: Pose) -> np.ndarray:
    """The original PoseProcessor for E7.2 with pose-format: reduced_face, shoulder normalization, legs zeroed."""
    pose = pose.get_components(
        ["POSE_LANDMARKS", "FACE_LANDMARKS", "LEFT_HAND_LANDMARKS", "RIGHT_HAND_LANDMARKS"],
        {"FACE_LANDMARKS": holistic.face_contour_points()},
    )
    pose = pose.normalize(
        pose.header.normalization_info(("POSE_LANDMARKS", "RIGHT_SHOULDER"), ("POSE_LANDMARKS", "LEFT_SHOULDER"))
    )
    legs = [
        pose.header.get_point_index("POSE_LANDMARKS", f"{side}_{part}")
        for part in ("KNEE", "ANKLE", "HEEL", "FOOT_INDEX")
        for side in ("LEFT", "RIGHT")
    ]
    pose.body.data[:, :, legs] = 0
    data = np.nan_to_num(np.ma.getdata(pose.body.data))
    return data.reshape(data.shape[0], -1)


def original_fingerclip_features(pose: Pose) -> np.ndarray:
    """demo_finger.py: shoulder normalization of the whole pose, then the right hand."""
    pose = pose.normalize(
        pose.header.normalization_info(("POSE_LANDMARKS", "RIGHT_SHOULDER"), ("POSE_LANDMARKS", "LEFT_SHOULDER"))
    )
    data = np.nan_to_num(np.ma.getdata(pose.get_components(["RIGHT_HAND_LANDMARKS"]).body.data))
    return data.reshape(data.shape[0], -1)


def assert_release_preprocessing_matches_the_original(pose: Pose) -> None:
    e72 = Pipeline.from_config(model_config("signclip-e7.2").preprocess)(pose.copy()).data
    assert e72.shape[1] == 609
    assert np.abs(e72 - original_e7_2_features(pose.copy())).max() < 1e-5
    finger = Pipeline.from_config(model_config("fingerclip").preprocess)(pose.copy()).data
    assert finger.shape[1] == 63
    assert np.abs(finger - original_fingerclip_features(pose.copy())).max() < 1e-5


def test_release_preprocessing_matches_the_original_steps_on_synthetic_poses():
    assert_release_preprocessing_matches_the_original(synthetic_pose(gloss=3, signer=1, seed=5))
    assert_release_preprocessing_matches_the_original(synthetic_pose(gloss=4, signer=0, seed=2, left_handed=True))


def test_release_preprocessing_matches_the_original_steps_on_the_house_pose(fixtures_dir):
    assert_release_preprocessing_matches_the_original(Pose.read((fixtures_dir / "house.pose").read_bytes()))


def test_a_converted_model_embeds_a_real_pose(model, original, fixtures_dir):
    house = fixtures_dir / "house.pose"
    scores = model.score(house, TEXTS)
    assert scores.shape == (len(TEXTS),) and np.isfinite(scores).all()
    tensor = model.preprocess(Pose.read(house.read_bytes()))
    assert tensor.frames == 73  # longer than max_video_len 40: windows at 0, 20 and 33, their vectors averaged
    windows = [type(tensor)(tensor.data[s : s + 40], tensor.mask[s : s + 40]) for s in (0, 20, 33)]
    pose_vector = torch.cat([original.embed_poses(*stack([w])) for w in windows]).mean(dim=0)
    expected = (original.embed_texts(TEXTS) @ pose_vector).numpy()
    assert np.allclose(scores, expected, rtol=1e-5, atol=1e-4)


def test_a_converted_model_evaluates_anonymized_poses_zero_shot(
    model, converted_mmpt, mmpt_checkpoint_file, tmp_path, capsys
):
    manifest = generate_dataset(tmp_path / "data", glosses=3, signers=2, repetitions=1)
    table = read_manifest(manifest)
    tests = table[table["split"] == "test"]
    anonymized = [anonymize_pose(pose) for pose in read_table_poses(tests)]
    assert not np.allclose(model.embed_poses(anonymized), model.embed_poses(read_table_poses(tests)))
    texts = render_prompts(model.config.prompt, tests)
    unique = sorted(set(texts))
    expected = retrieval_metrics(
        model.embed_texts(unique) @ model.embed_poses(anonymized).T, np.array([unique.index(t) for t in texts])
    )
    report = evaluate_model(model, table, anonymize=True, zero_shot=True, data_name="synthetic")
    assert report["v2t"] == pytest.approx(expected["v2t"]) and report["t2v"] == pytest.approx(expected["t2v"])
    args = ["evaluate", "--model", str(converted_mmpt.output), "--manifest", str(manifest)]
    args += ["--anonymize", "--zero-shot"]
    assert main([*args, "--flip"]) == 0
    trained_on = f"the data of the original checkpoint {Path(mmpt_checkpoint_file).resolve()} (not recorded)"
    assert capsys.readouterr().out.startswith(f"zero-shot: model trained on {trained_on}, evaluated on {manifest}")


def test_a_model_directory_copied_with_a_broken_config_is_refused(converted_mmpt, tmp_path):
    copy = shutil.copytree(converted_mmpt.output, tmp_path / "copy")
    config = json.loads((copy / "config.json").read_text())
    config["pose_encoder"]["layers"] = 2
    (copy / "config.json").write_text(json.dumps(config))
    with pytest.raises(ModelFileError, match=r"unexpected .*pose_encoder\.bert\.encoder\.layer\.2"):
        load_model(copy)


def test_demo_uses_the_converted_e7_2_by_default(
    mmpt_checkpoint_file, mmpt_text_folder, tmp_path, monkeypatch, capsys, poses
):
    monkeypatch.setenv("SIGNCLIP_HOME", str(tmp_path / "home"))
    pose_path = tmp_path / "pose.pose"
    with open(pose_path, "wb") as f:
        poses[2].write(f)
    assert main(["demo", str(pose_path), "--texts", *TEXTS]) == 0
    assert "untrained" in capsys.readouterr().err  # nothing converted yet: signclip-small
    convert_checkpoint(mmpt_checkpoint_file, tiny_config(mmpt_text_folder) | {"name": "signclip-e7.2"})
    assert main(["demo", str(pose_path), "--texts", *TEXTS]) == 0
    out, err = capsys.readouterr()
    assert "untrained" not in err
    expected = sorted(load_model("signclip-e7.2").score(pose_path, TEXTS), reverse=True)
    assert np.allclose([float(line.split()[0]) for line in out.splitlines()], expected, atol=1e-3)
