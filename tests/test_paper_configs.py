"""configs/paper/: every config of SignCLIP's experiments builds, trains one tiny epoch on data in its dataset
adapter's layout (tests/layouts.py, the synthetic signer's poses) and saves a model that loads and keeps the
config's preprocessing, prompt and data; every config names its experiment and the figure the original reported.

The tiny run overrides only size and time: epochs, batch size, the towers' widths and layers, output_dir and
where the data lies (data.root, and data.poses_dir for ASL Citizen's extracted poses). The preprocessing, prompt,
split and augmentation under test are the config's own. One more override, for the same reason: the text tower.
The mmpt configs name bert-base-cased/-uncased, which a test must not download (no internet at test time, and
110M parameters), and signclip-small's all-MiniLM-L6-v2 would make every tiny run load and save 90 MB; each run
gets instead a tiny local BERT with weights (tests/conftest.py `tiny_bert_512`, built like
tests/model/test_mmpt.py's text folder: a WordPiece tokenizer and a seeded BertModel saved to a folder). An mmpt
video tower trained afresh starts from its text model's weights (`signclip.model.mmpt.start_from_text_model`), so
the mmpt runs take that BERT's sizes (hidden 32, 2 heads, its vocabulary) too.

A fine-tune config (`init_from`) starts from the tiny run of the config its `init_from` names
(runs/paper/<config>/best), or for the converted release `signclip-e7.2` from the tiny run of the config that
trained it (RELEASE_RUNS): `--set init_from=<that run's best/>`.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import layouts
import numpy as np
import pytest
import yaml

from signclip.data.manifest import read_manifest
from signclip.data.prompts import render_prompt
from signclip.model.hub import load_model
from signclip.train import load_train_config, train

CONFIG_DIR = Path(__file__).resolve().parents[1] / "configs" / "paper"
CONFIGS = sorted(CONFIG_DIR.glob("*.yaml"))
RELEASE_RUNS = {"signclip-e7.2": "e7.2-spreadthesign-mmpt"}  # a released checkpoint -> the config that trained it
TINY_DIM = {"mmpt": 32, "signclip": 16}  # the embedding size of the tiny runs
RUN = ["epochs=1", "batch_size=4", "torch_threads=1"]
WORDS = ["house", "tree", "water", "friend", "book", "eat"]
# The prompts of the paper's experiments, by template, for one manifest row: a config with another prompt needs
# its expected form here.
PROMPTS = {
    "fingerclip": lambda row: f"Fingerspell the letter {row['text']} in German Sign Language.",
    "signclip_v1": lambda row: f"<{row['spoken_language']}> <{row['signed_language']}> {row['text']}",
    "v0": lambda row: f'Sign the sign "{row["text"]}" in American Sign Language.',
    "<{spoken}> <{signed}> {gloss}": lambda row: f"<en> <ase> {row['gloss']}",
}
# Features per frame of each preprocessing (the original's vfeat_dim): FingerCLIP's right hand, 21 points x 3;
# SignCLIP v1's reduced_face, 203 points x 3; v0's face subset + left hand + body + right hand, 151 points x 3.
FEATURES = {"mmpt_fingerclip": 63, "signclip_v1": 609, "v0": 453}


def raw(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@cache
def recipe(path: Path) -> dict:
    """The model keys a config trains with: its own `model` mapping over its base, or over the config that
    trained its `init_from` model; plus the architecture."""
    config = raw(path)
    model = config.get("model") or {}
    if config.get("init_from"):
        return {**recipe(origin(path)), **{k: v for k, v in model.items() if k in ("prompt", "preprocess")}}
    base = load_train_config(path).model_config()
    return {"architecture": base.architecture, "preprocess": base.preprocess, "prompt": base.prompt}


def origin(path: Path) -> Path:
    """The config whose run a fine-tune config's `init_from` names."""
    source = raw(path)["init_from"]
    match = re.fullmatch(r"runs/paper/(?P<stem>[^/]+)/best", source)
    stem = match["stem"] if match else RELEASE_RUNS.get(source)
    assert stem and (CONFIG_DIR / f"{stem}.yaml").is_file(), f"{path.name}: init_from {source!r} is no config's run"
    return CONFIG_DIR / f"{stem}.yaml"


def spreadthesign(root: Path) -> dict:
    locales = ["en.us", "en.us", "de.de", "en.gb"]
    lines = ["pose_path,language,text"] + [f"poses/{i}.pose,{locales[i % 4]},{WORDS[i % 6]}" for i in range(24)]
    return {"root": layouts.spreadthesign(root, lines, pose_folder=".")}


def asl_citizen(root: Path) -> dict:
    glosses = ["APPLE", "GO2", "HOUSE", "TREE1"]
    splits = {
        split: [(f"P{p}", f"{p}{g}-{gloss}.mp4", gloss) for p in participants for g, gloss in enumerate(glosses)]
        for split, participants in {"train": (1, 2, 3, 4), "val": (5,), "test": (6,)}.items()
    }
    return {"root": layouts.asl_citizen(root, splits, poses_dir=root / "poses"), "poses_dir": root / "poses"}


def sem_lex(root: Path) -> dict:
    labels = ["apple", "last_year", "think_chin_2", "go"]
    splits = {"train": range(1, 5), "val": (5,), "test": (6,)}
    rows = [
        f"v{s}{n},s{s},1.0,{split},asllex,{label}"
        for split, signers in splits.items()
        for s in signers
        for n, label in enumerate(labels)
    ]
    return {"root": layouts.sem_lex(root, rows, poses=[row.split(",")[0] for row in rows])}


def rwth_fingerspelling(root: Path) -> dict:
    return {"root": layouts.rwth_fingerspelling(root, signers=range(1, 6), letters=("a", "b", "sch", "ae"), poses=True)}


def asl_signs(root: Path) -> dict:
    signs = ("TV", "after", "bird", "cry")
    return {"root": layouts.asl_signs(root, participants=range(1, 7), signs=signs, synthetic_poses=True)}


LAYOUTS = {  # adapter -> writer of a small dataset in its layout, returning the data.* keys to set
    "rwth-fingerspelling": rwth_fingerspelling,
    "asl-signs": asl_signs,
    "spreadthesign": spreadthesign,
    "asl-citizen": asl_citizen,
    "sem-lex": sem_lex,
}


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory, tiny_bert_512):
    """A function: config path -> its tiny run's TrainResult (each config trained once per module)."""
    results, data = {}, {}

    def data_keys(adapter: str) -> dict:
        if adapter not in data:
            data[adapter] = LAYOUTS[adapter](tmp_path_factory.mktemp(adapter))
        return data[adapter]

    def run(path: Path):
        if path not in results:
            config = raw(path)
            overrides = [*RUN, f"output_dir={tmp_path_factory.mktemp(path.stem)}"]
            overrides += [f"data.{key}={value}" for key, value in data_keys(config["data"]["dataset"]).items()]
            if config.get("init_from"):
                overrides.append(f"init_from={run(origin(path)).best_dir}")
            elif recipe(path)["architecture"] == "mmpt":
                overrides += [
                    f"model.tower_dim={TINY_DIM['mmpt']}",
                    f"model.text_encoder.name={tiny_bert_512}",
                    *(f"model.pose_encoder.{key}" for key in ("hidden_size=32", "heads=2", "intermediate_size=64")),
                    *(f"model.pose_encoder.{key}" for key in ("layers=1", "vocab_size=30522")),
                ]
            else:
                overrides += [
                    f"model.tower_dim={TINY_DIM['signclip']}",
                    f"model.text_encoder.name={tiny_bert_512}",
                    *(f"model.pose_encoder.{key}" for key in ("width=32", "layers=1", "heads=2", "conv_blocks=1")),
                ]
            results[path] = train(load_train_config(path, overrides), progress=False)
        return results[path]

    run.data_keys = data_keys
    return run


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.stem)
def test_a_paper_config_trains_a_tiny_epoch_into_a_model_that_keeps_its_recipe(path, tiny_run):
    config, expected = raw(path), recipe(path)
    result = tiny_run(path)
    model = load_model(result.best_dir)
    assert (model.config.architecture, model.config.preprocess) == (expected["architecture"], expected["preprocess"])
    assert model.config.prompt == expected["prompt"]
    preprocess = expected["preprocess"] if isinstance(expected["preprocess"], str) else "v0"
    assert model.config.input_features == FEATURES[preprocess]
    manifest = read_manifest(result.output_dir / "manifest.csv")
    row = manifest[manifest["split"] == "test"].iloc[0].to_dict()
    assert render_prompt(model.config.prompt, row) == PROMPTS[expected["prompt"]](row)
    embedding = model.embed_poses([row["pose_path"]])
    assert embedding.shape == (1, TINY_DIM[expected["architecture"]])
    assert np.isfinite(embedding).all() and np.linalg.norm(embedding) == pytest.approx(1.0, abs=1e-5)
    provenance = model.provenance
    assert provenance.kind == "trained" and provenance.epochs == 1
    assert provenance.data["dataset"] == config["data"]["dataset"]
    assert Path(provenance.data["root"]) == Path(tiny_run.data_keys(config["data"]["dataset"])["root"])
    if config.get("init_from"):
        assert provenance.init_from["source"] == str(tiny_run(origin(path)).best_dir.resolve())
        assert provenance.init_from["kind"] == "trained"


@pytest.mark.parametrize("path", CONFIGS, ids=lambda path: path.stem)
def test_a_paper_config_names_its_experiment_and_the_figure_the_original_reported(path):
    lines = path.read_text().splitlines()
    header = "\n".join(line[1:].strip() for line in lines[: next(i for i, s in enumerate(lines) if s[:1] != "#")])
    assert re.search(r"experiment (E\d+(\.\d+)?|v0)\b", header), f"{path.name}: no experiment id in {header!r}"
    assert re.search(r"Reported .*\(cited, not reproduced here\):.*\b\d\.\d{4}\b", header, re.S), path.name
    assert re.search(r"\(examples/MMPT/results_[a-z_.]+\.csv, row [\w/.]+", header), f"{path.name}: no source CSV row"
    assert raw(path)["output_dir"] == f"runs/paper/{path.stem}"
