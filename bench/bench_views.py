"""Issue 10: what averaging end models (views of the text) and each calibration do on the dev set.

    .venv/bin/python bench/bench_views.py --store sqlite:///STORE.db [--experiment paper-areas-iclr]
        [--config configs/iclr.yaml] [--cache-dir DIR]

Takes the newest finished run of each single end model (`minilm`, `tfidf`, `embedding` tags) in the experiment:
runs trained on the same weak labels, as `train.py --config configs/iclr.yaml --end-model KIND --average-with`
makes them. Scores every average of their uncalibrated probabilities on the config's gold, on half A (which
chooses), half B (which reports) and all of dev, and the cross-fitted ECE of each calibration (fitted on one half,
measured on the other). The embedding model reads its embeddings from --cache-dir when given. Prints markdown.
"""

from __future__ import annotations

import argparse
import itertools
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402

from labeling import load_taxonomy  # noqa: E402
from models import CALIBRATORS, cross_fitted_ece  # noqa: E402
from models.evaluation import score, split_by_id  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402
from paper_areas.pipeline.data import read_gold  # noqa: E402

KINDS = ("minilm", "tfidf", "embedding")


def run_probabilities(experiment: str, frame, cache_dir: str | None) -> dict[str, np.ndarray]:
    """Uncalibrated dev probabilities of the newest finished run of each single end model."""
    runs = mlflow.search_runs(experiment_names=[experiment], filter_string="attributes.status = 'FINISHED'",
                              order_by=["start_time DESC"])
    probabilities = {}
    for kind in KINDS:
        found = runs[runs["tags.end_model"] == kind]
        if found.empty:
            continue
        run_id = found.iloc[0]["run_id"]
        classifier = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").unwrap_python_model().classifier
        if cache_dir and hasattr(classifier, "cache_dir"):
            classifier.cache_dir = cache_dir
        probabilities[kind] = classifier.calibrate(None).predict_proba(frame)
        print(f"{kind}: run {run_id}", file=sys.stderr, flush=True)
    return probabilities


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", required=True, help="the MLflow tracking URI holding the runs")
    parser.add_argument("--experiment", default="paper-areas-iclr")
    parser.add_argument("--config", default=str(REPO / "configs" / "iclr.yaml"))
    parser.add_argument("--cache-dir", help="embedding cache of the runs (for the embedding model)")
    args = parser.parse_args()
    mlflow.set_tracking_uri(args.store)
    config = load_config(args.config)
    taxonomy = load_taxonomy(config.taxonomy)
    gold = read_gold(config.gold, taxonomy)
    half_a = split_by_id(gold.frame["id"])
    views = run_probabilities(args.experiment, gold.frame, args.cache_dir)

    print(f"{len(gold.y)} gold papers, half A {int(half_a.sum())}, half B {int((~half_a).sum())}\n")
    print("| end model | half A acc / F1 | half B acc / F1 | dev acc / F1 | weakest area F1 | "
          + " | ".join(f"ECE {kind} (cross-fitted)" for kind in CALIBRATORS) + " | ECE uncalibrated |")
    print("|---|---|---|---|---|" + "---|" * (len(CALIBRATORS) + 1))
    for size in range(1, len(views) + 1):
        for combo in itertools.combinations(views, size):
            mean = np.mean([views[kind] for kind in combo], axis=0)
            predicted = mean.argmax(axis=1)
            parts = [score(gold.y[mask], predicted[mask], taxonomy.names)
                     for mask in (half_a, ~half_a, np.ones_like(half_a))]
            figures = [f"{part.accuracy:.3f} / {part.macro_f1:.3f}" for part in parts]
            weakest = parts[2].per_area["f1"].min()
            eces = [cross_fitted_ece(mean, gold.y, half_a, calibrator) for calibrator in CALIBRATORS.values()]
            print(f"| {' + '.join(combo)} | " + " | ".join(figures) + f" | {weakest:.2f} | "
                  + " | ".join(f"{crossed.ece_after:.3f}" for crossed in eces) + f" | {eces[0].ece_before:.3f} |")


if __name__ == "__main__":
    main()
