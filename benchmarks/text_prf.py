"""Text search re-ranked by DTW to its own top hits (pseudo-relevance feedback), against text search alone.

For each gloss of a manifest split, the learned model ranks the split's poses by the gloss's text; the
feedback variant takes the top `m` hits as examples and re-ranks the top C by z(text score) + w * z(-mean
DTW distance to those examples). (m, C, w) is cross-fitted over 5 folds of the glosses (each fold ranked
with the choice best on the others by the mean of P@1 and P@10), so no row is chosen on itself; the
baseline is text search alone on the same poses. It was measured to decide whether search should do it
for text queries (docs/search.md: it does not help, so it is not shipped).

    python benchmarks/text_prf.py --model runs/boston/best --manifest runs/boston/manifest.csv --split test
"""

from __future__ import annotations

import argparse
import itertools

import numpy as np

from signclip.data.manifest import read_manifest
from signclip.data.prompts import render_prompts
from signclip.data.table import read_table_poses
from signclip.evaluation.dtw import DTWSettings, dtw_distance_matrix, preprocessed_poses
from signclip.evaluation.rerank import QueryFigures, cross_fitted, query_figures, standardized
from signclip.evaluation.retrieval import embed_table_poses
from signclip.model.hub import load_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True)
    parser.add_argument("--manifest", required=True)
    parser.add_argument("--split", default="test")
    args = parser.parse_args()

    model = load_model(args.model)
    table = read_manifest(args.manifest)
    table = table[table["split"] == args.split].reset_index(drop=True)
    labels = table["gloss"].to_numpy(dtype=object)
    glosses = sorted(set(labels))
    prompts = render_prompts(model.config.prompt, table.assign(text=table["gloss"]))
    prompt_of = dict(zip(labels, prompts, strict=True))
    poses = embed_table_poses(model, read_table_poses(table)).astype(np.float64)
    texts = model.embed_texts([prompt_of[gloss] for gloss in glosses]).astype(np.float64)
    scores = texts @ poses.T  # (glosses, poses)
    tensors, _, _ = preprocessed_poses(table, DTWSettings().preprocess)
    dtw = dtw_distance_matrix(tensors, tensors).astype(np.float64)
    first = np.argsort(-scores, axis=1, kind="stable")
    query_labels = np.array(glosses, dtype=object)
    baseline = query_figures(first, query_labels, labels)
    choices: dict[tuple[int, float], QueryFigures] = {(0, 0.0): baseline}
    for examples, candidates, weight in itertools.product((1, 2, 3), (20, 50), (0.25, 0.5, 1.0, 2.0)):
        orders = []
        for row, order in enumerate(first):
            head = order[:candidates]
            fed_back = dtw[np.ix_(order[:examples], head)].mean(axis=0)
            fused = standardized(scores[row, head]) + weight * standardized(-fed_back)
            orders.append(np.concatenate([head[np.argsort(-fused, kind="stable")], order[candidates:]]))
        choices[(examples * 1000 + candidates, weight)] = query_figures(np.stack(orders), query_labels, labels)
    fold_of, chosen, on_all = cross_fitted(choices, 5)
    picked = [chosen[fold] for fold in fold_of]
    parts = [[getattr(choices[c], part)[q] for q, c in enumerate(picked)] for part in ("p1", "p10", "ap")]
    feedback = QueryFigures(*(np.array(values) for values in parts)).summary()
    print(f"{len(glosses)} glosses of split {args.split!r}, {len(table)} poses")
    for name, figures in (("baseline: text search alone", baseline.summary()), ("with DTW feedback", feedback)):
        print(f"{name:<40} P@1 {figures['P@1']:.3f}  P@10 {figures['P@10']:.3f}  mAP {figures['mAP']:.3f}")
    print(f"choices per fold (examples * 1000 + C, weight; (0, 0) = no feedback): {chosen}; on all: {on_all}")


if __name__ == "__main__":
    main()
