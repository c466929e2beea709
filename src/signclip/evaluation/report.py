"""Writing an all-against-all evaluation: report.json, per_gloss.csv, confusions.csv, summary.md, plots.

Every file is written atomically; plots use matplotlib's Agg backend (no display needed).
"""

from __future__ import annotations

import io
import json
import os
from pathlib import Path

import numpy as np
import pandas as pd

from signclip.evaluation import analysis, metrics
from signclip.evaluation.search import DatasetEvaluation
from signclip.poses.io import write_bytes_atomically

REPORT_FILES = (
    "report.json",
    "per_gloss.csv",
    "confusions.csv",
    "summary.md",
    "confusion_heatmap.png",
    "precision_at_k.png",
)


def write_report(
    evaluation: DatasetEvaluation, out_dir: str | os.PathLike, heatmap_glosses: int = 15, top_pairs: int = 20
) -> list[Path]:
    """Write the evaluation's files (REPORT_FILES) into `out_dir`; returns their paths."""
    out_dir = Path(out_dir)
    result = evaluation.result
    summary = metrics.summarize(result)
    per_gloss = analysis.per_gloss_table(result)
    pairs = analysis.confused_pairs(result, top=None)
    report = {
        "settings": evaluation.settings,
        "summary": summary,
        "most_confused_pairs": pairs.head(top_pairs).to_dict(orient="records"),
        "per_gloss": json.loads(per_gloss.to_json(orient="records")),
    }
    files = {
        "report.json": json.dumps(report, indent=2, ensure_ascii=False).encode(),
        "per_gloss.csv": per_gloss.to_csv(index=False).encode(),
        "confusions.csv": pairs.to_csv(index=False).encode(),
        "summary.md": summary_markdown(evaluation, summary, per_gloss, pairs.head(top_pairs)).encode(),
        "confusion_heatmap.png": confusion_heatmap_png(result, heatmap_glosses),
        "precision_at_k.png": precision_curve_png(result, evaluation.settings),
    }
    paths = []
    for name, data in files.items():
        write_bytes_atomically(data, out_dir / name)
        paths.append(out_dir / name)
    return paths


def summary_markdown(evaluation: DatasetEvaluation, summary: dict, per_gloss: pd.DataFrame, pairs: pd.DataFrame) -> str:
    """Return the Markdown summary: settings, headline figures, most-confused pairs, weakest glosses."""
    settings = evaluation.settings
    k = summary["k"]
    lines = [
        f"# All-against-all retrieval: {settings['dataset']}",
        "",
        ", ".join(f"{key}: `{value}`" for key, value in settings.items()),
        "",
        "Each item queries all other items of the dataset; a hit is a result with the same gloss.",
        "",
        "| figure | value |",
        "|---|---|",
        f"| items | {summary['items']} |",
        f"| glosses | {summary['glosses']} |",
        f"| queries with another item of their gloss | {summary['answerable_queries']} |",
        f"| singletons (not averaged) | {summary['singletons']} |",
        f"| precision@{k} | {_format(summary['precision_at_k'])} |",
        f"| recall@{k} | {_format(summary['recall_at_k'])} |",
        f"| mAP | {_format(summary['mean_average_precision'])} |",
        "",
        "## Most-confused gloss pairs",
        "",
    ]
    lines += _markdown_table(pairs) if len(pairs) else ["No confusions."]
    lines += ["", "## Weakest glosses (precision@k)", ""]
    lines += _markdown_table(per_gloss.head(15))
    return "\n".join(lines) + "\n"


def confusion_heatmap_png(result: metrics.RetrievalResult, count: int = 15) -> bytes:
    """Return a PNG heat map: for the most-confused glosses, the share of top-k slots each gloss fills."""
    glosses = analysis.most_confused_glosses(result, count) or sorted(set(result.labels))[:count]
    matrix = analysis.confusion_matrix(result, glosses)
    figure, axes = _figure(max(4.0, 0.45 * len(glosses) + 2))
    image = axes.imshow(matrix, cmap="viridis", vmin=0, vmax=max(matrix.max(), 1e-9))
    axes.set_xticks(range(len(glosses)), glosses, rotation=90, fontsize=8)
    axes.set_yticks(range(len(glosses)), glosses, fontsize=8)
    axes.set_xlabel(f"retrieved gloss (share of top-{result.k})")
    axes.set_ylabel("query gloss")
    axes.set_title("Most-confused glosses")
    figure.colorbar(image, ax=axes, fraction=0.046)
    return _png(figure)


def precision_curve_png(result: metrics.RetrievalResult, settings: dict) -> bytes:
    """Return a PNG of mean precision@i and recall@i for i = 1..k."""
    ks = np.arange(1, result.k + 1)
    figure, axes = _figure(5.0)
    axes.plot(ks, metrics.precision_curve(result), marker="o", label="precision@k")
    axes.plot(ks, metrics.recall_curve(result), marker="s", label="recall@k")
    axes.set_xlabel("k")
    axes.set_ylim(0, 1.02)
    axes.set_title(f"{settings.get('dataset', '')} ({settings.get('method', '')})")
    axes.grid(alpha=0.3)
    axes.legend()
    return _png(figure)


def _figure(size: float):
    from matplotlib.figure import Figure  # a bare Figure renders with Agg; pyplot's global state is not used

    figure = Figure(figsize=(size * 1.15, size), layout="constrained")
    return figure, figure.add_subplot()


def _png(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=120)
    return buffer.getvalue()


def _format(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"


def _markdown_table(table: pd.DataFrame) -> list[str]:
    header = "| " + " | ".join(table.columns) + " |"
    rule = "|" + "---|" * len(table.columns)
    rows = [
        "| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |"
        for row in table.itertuples(index=False)
    ]
    return [header, rule, *rows]
