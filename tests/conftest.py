"""Shared test fixtures: where ../shared lives (skipping when absent), a tiny local text model, a tiny original
SignCLIP checkpoint and its conversion, and one real embedded PostgreSQL per session with a fresh database
(and Store) per test."""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import make_conninfo

from signclip.store.embedded_postgres import EmbeddedPostgres
from signclip.store.store import Store

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
FIXTURES = SHARED / "fixtures"
DATA = SHARED / "data"


def shared_path(relative: str) -> Path:
    """Return ../shared/<relative>, skipping the calling test when it is absent."""
    path = SHARED / relative
    if not path.exists():
        pytest.skip(f"{path} is not available (../shared is only beside the checkout in CI and development)")
    return path


@pytest.fixture
def fixtures_dir() -> Path:
    return shared_path("fixtures")


@pytest.fixture
def fingerspelling_dir() -> Path:
    return shared_path("data/fingerspelling")


@pytest.fixture
def boston_dir() -> Path:
    return shared_path("data/rwth-boston-104")


@pytest.fixture(scope="session")
def require_shared():
    """The `shared_path` function, for module- or session-scoped fixtures."""
    return shared_path


def write_tiny_bert(folder: Path, positions: int) -> Path:
    """Write a local Hugging Face folder: a seeded 1-layer BERT (hidden 32, `positions` positions) with the
    MiniLM tokenizer; return it."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    from signclip.model.text_encoder import resolve_text_model

    source, _ = resolve_text_model("all-MiniLM-L6-v2")
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=True)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=positions,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        BertModel(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_text_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A local Hugging Face folder: 1-layer BERT (hidden 32) with the MiniLM tokenizer."""
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert"), positions=128)


@pytest.fixture(scope="session")
def tiny_bert_512(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`tiny_text_model` with BERT's 512 positions: what an `mmpt` video tower trained afresh starts from (it
    copies the text model's weights, and its [SEP] stands at max_video_len + 1 = 257)."""
    return write_tiny_bert(tmp_path_factory.mktemp("tiny-bert-512"), positions=512)


@pytest.fixture(scope="session")
def small_model_config(tiny_text_model: Path):
    """A function (name, tower_dim, max_frames, width) -> a small signclip-small config over the tiny text model."""

    def config(name: str, tower_dim: int, max_frames: int, width: int = 32, max_length: int = 32) -> dict:
        return {
            "base": "signclip-small",
            "name": name,
            "tower_dim": tower_dim,
            "max_frames": max_frames,
            "pose_encoder": {"width": width, "layers": 1, "heads": 2, "conv_blocks": 1},
            "text_encoder": {"name": str(tiny_text_model), "max_length": max_length},
        }

    return config


@pytest.fixture(scope="session")
def mmpt_text_folder(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The text model folder of the tiny original checkpoint (tests/mmpt_checkpoint.py)."""
    from mmpt_checkpoint import write_text_folder

    return write_text_folder(tmp_path_factory.mktemp("tiny-bert-text"))


@pytest.fixture(scope="session")
def mmpt_checkpoint() -> dict:
    """A tiny original SignCLIP checkpoint dict (tests/mmpt_checkpoint.py); do not change it in place."""
    from mmpt_checkpoint import original_checkpoint

    return original_checkpoint()


@pytest.fixture(scope="session")
def mmpt_checkpoint_file(mmpt_checkpoint: dict, tmp_path_factory: pytest.TempPathFactory) -> str:
    """`mmpt_checkpoint` saved as checkpoint_best.pt."""
    from mmpt_checkpoint import write_checkpoint

    return write_checkpoint(mmpt_checkpoint, tmp_path_factory.mktemp("ckpt") / "checkpoint_best.pt")


@pytest.fixture(scope="session")
def converted_mmpt(mmpt_checkpoint_file: str, mmpt_text_folder: str, tmp_path_factory: pytest.TempPathFactory):
    """The ConversionReport of `mmpt_checkpoint_file` converted by `convert_checkpoint` (its model in `.output`)."""
    from mmpt_checkpoint import tiny_config

    from signclip.model.convert_mmpt import convert_checkpoint

    return convert_checkpoint(
        mmpt_checkpoint_file, tiny_config(mmpt_text_folder), tmp_path_factory.mktemp("out") / "tiny"
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """URL of the session's embedded server (its maintenance database).

    The data folder is a fresh temporary directory outside pytest's rotating basetemp (which a
    concurrent pytest run may prune), removed after the server stops.
    """
    home = Path(tempfile.mkdtemp(prefix="signclip-search-tests-"))
    server = EmbeddedPostgres(home)
    try:
        yield server.start()
    finally:
        server.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def database_url(postgres_url: str) -> Iterator[str]:
    """A new, empty database for one test (dropped afterwards)."""
    name = f"test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(f"CREATE DATABASE {name}")
    try:
        yield make_conninfo(postgres_url, dbname=name)
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def store(database_url: str, tmp_path: Path) -> Iterator[Store]:
    """A Store on the test's own database; home (for extracted poses) in the test's tmp path."""
    with Store.open(database_url, home=tmp_path / "home") as opened:
        yield opened


@pytest.fixture
def embedder():
    from embedders import PoseStatisticsEmbedder

    return PoseStatisticsEmbedder()


@pytest.fixture(scope="session")
def synthetic_manifest(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A generated dataset: 4 glosses x 2 signers x 2 repetitions = 16 poses, with manifest.csv."""
    from signclip.data.synthetic import generate_dataset

    return generate_dataset(tmp_path_factory.mktemp("synthetic"), glosses=4, signers=2, repetitions=2)
