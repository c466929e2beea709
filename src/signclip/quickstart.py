"""The README's main job: train, index, search and evaluate end to end on embedded defaults.

With no data of the user's it generates a dataset with the synthetic signer; with a folder
(`<gloss>/<file>.pose|.mp4`) it uses that. Everything it writes lives in one work folder, the
embedded PostgreSQL included, so it can be rerun and thrown away.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

from signclip.errors import SignclipError

CONFIG = Path(__file__).with_name("quickstart.yaml")
DATASET = "quickstart"
MARKER = ".signclip-quickstart"


def prepare_workdir(workdir: Path) -> None:
    """Create `workdir`, emptying one that an earlier quickstart made; refuse a foreign non-empty folder."""
    if workdir.exists() and any(workdir.iterdir()):
        if not (workdir / MARKER).is_file():
            raise SignclipError(f"{workdir}: not empty and not made by signclip quickstart; choose another --workdir")
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / MARKER).write_text("made by signclip quickstart; deleted by the next run in this folder\n")


def run_quickstart(
    workdir: str | os.PathLike, folder: str | os.PathLike | None = None, say: Callable[[str], None] = print
) -> dict:
    """Train a small model, index the poses into an embedded PostgreSQL, search, evaluate; returns a summary.

    The summary has the best model folder, the search results by example and by text, the
    all-against-all figures for the embeddings and for the DTW baseline, and the report folder.
    """
    from signclip.data.manifest import write_manifest
    from signclip.data.table import read_item_pose
    from signclip.evaluation.report import write_report
    from signclip.evaluation.search import evaluate_dataset
    from signclip.search.request import IndexOptions, validate_index_request
    from signclip.search.service import Query, index_items, search
    from signclip.store.store import Store
    from signclip.train import load_train_config, load_training_table, train

    workdir = Path(workdir).resolve()
    prepare_workdir(workdir)
    overrides = [f"output_dir={workdir / 'model'}"]
    if folder is not None:
        table = _folder_manifest(Path(folder), workdir / "poses", say)
        manifest_path = write_manifest(table, workdir / "manifest.csv")
        overrides += ["data.synthetic=null", f"data.manifest={manifest_path}", "data.val_split=test"]
        say(f"1. using {len(table)} items of {folder}")
    config = load_train_config(CONFIG, overrides)
    if folder is None:
        say(f"1. generating a synthetic dataset ({config.data.synthetic}) in {workdir / 'model' / 'data'}")

    say("2. training the quickstart model (signclip-small, narrowed)")
    result = train(config, progress=False)
    say(f"   best model: {result.best_dir} (validation {config.val_metric} {result.best_metric:.3f})")
    import signclip

    model = signclip.load_model(result.best_dir)
    table = load_training_table(config, generate=False)

    say(f"3. indexing {len(table)} poses into the embedded PostgreSQL in {workdir / 'home'}")
    summary: dict = {"model": str(result.best_dir), "workdir": str(workdir)}
    request = validate_index_request(
        DATASET, table, model, IndexOptions(progress=False, model_source=str(result.best_dir))
    )
    with Store.open(home=workdir / "home") as store:
        report = index_items(store, request)
        for line in report.lines():
            say(f"   {line}")
        example = table[table["split"] == config.data.val_split].iloc[0]
        say(f"4. search by example: {example['pose_path']} (gloss {example['gloss']}, an unseen signer)")
        query = Query(pose=read_item_pose(example))
        by_example = search(store, model, DATASET, query, k=5, exclude_keys={example["id"]}).results
        summary["by_example"] = [(r.gloss, r.signer, round(r.distance, 4)) for r in by_example]
        for rank, hit in enumerate(by_example, start=1):
            say(f"   {rank}. {hit.gloss:<10} {hit.signer:<10} distance {hit.distance:.4f}")
        query = str(example["text"])
        answer = search(store, model, DATASET, Query(text=query), k=5)
        say(f"5. search by text: {answer.prompt!r}")
        by_text = answer.results
        summary["by_text"] = [(r.gloss, r.signer, round(r.distance, 4)) for r in by_text]
        for rank, hit in enumerate(by_text, start=1):
            say(f"   {rank}. {hit.gloss:<10} {hit.signer:<10} distance {hit.distance:.4f}")
        say("6. all-against-all retrieval (each item queries the rest; a hit shares its gloss)")
        for method in ("embedding", "dtw"):
            evaluation = evaluate_dataset(store, DATASET, model.name, k=5, method=method, progress=False)
            out_dir = workdir / "report" / method
            write_report(evaluation, out_dir)
            from signclip.evaluation.metrics import summarize

            figures = summarize(evaluation.result)
            summary[method] = figures
            say(f"   {method:<9}: {figures_line(figures)}  -> {out_dir}")
    summary["report"] = str(workdir / "report")
    say(f"   {reproducibility_note(config.seed, config.torch_threads)}")
    say(
        f"done. Try: SIGNCLIP_HOME={workdir / 'home'} {signclip_command()} search --dataset {DATASET} "
        f"--model {result.best_dir} --text {query}"
    )
    return summary


def reproducibility_note(seed: int, threads: int) -> str:
    """What the figures depend on: the seed and the torch threads (the same on every run and every kernel path of
    torch checked, see docs/training.md), and the torch version."""
    import torch

    return (
        f"figures: seed {seed}, {threads} torch thread(s), torch {torch.__version__}, kernels "
        f"{torch.backends.cpu.get_cpu_capability()}; the same on every run, and on the other CPU kernel paths "
        "checked (docs/training.md); another seed or torch version gives others"
    )


def figures_line(figures: dict) -> str:
    """The headline all-against-all figures, or why they are undefined."""
    if figures.get("undefined"):
        return f"retrieval metrics undefined: {figures['undefined']}"
    return (
        f"precision@5 {figures['precision_at_k']:.3f}, recall@5 {figures['recall_at_k']:.3f}, "
        f"mAP {figures['mean_average_precision']:.3f}"
    )


def signclip_command() -> str:
    """How to call `signclip` from this shell: the running script when it is one, else beside Python, else -m."""
    import sys

    script = Path(sys.argv[0])
    if script.name == "signclip" and script.is_file():
        return str(script.resolve()) if shutil.which("signclip") != str(script.resolve()) else "signclip"
    beside = Path(sys.executable).with_name("signclip")
    if beside.is_file():
        return "signclip" if shutil.which("signclip") == str(beside) else str(beside)
    return f"{sys.executable} -m signclip.cli"


def _folder_manifest(folder: Path, poses_dir: Path, say: Callable[[str], None]):
    """Manifest of a `<gloss>/<file>.pose|.mp4` folder, videos extracted to `poses_dir`, split at random."""
    from signclip.data.datasets import prepare_dataset
    from signclip.data.manifest import normalize_manifest
    from signclip.data.splits import assign_splits
    from signclip.search.engine import LocalEngine
    from signclip.search.planning import attach_poses, plan_pose_jobs

    table = prepare_dataset("folder", folder)
    plan = plan_pose_jobs(normalize_manifest(table, source=str(folder)), poses_dir)
    if plan.jobs:
        say(f"   extracting poses from {len(plan.jobs)} videos into {poses_dir}")
        plan = attach_poses(plan, LocalEngine().extract(plan.jobs, progress=True))
    for key, message in plan.failed:
        say(f"   left out {key}: {message}")
    return assign_splits(plan.rows, "random", seed=0, val_fraction=0.0, test_fraction=0.25)
