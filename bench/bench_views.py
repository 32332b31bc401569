"""What averaging end models (views of the text) and each calibration do on the dev set.

    .venv/bin/python bench/bench_views.py --store sqlite:///STORE.db [--experiment paper-areas-iclr]
        [--config configs/iclr.yaml] [--cache-dir DIR] [--quick]

Takes the newest finished run of each single end model (`minilm`, `tfidf`, `embedding` tags) in the experiment:
runs trained on the same weak labels, as `train.py --config configs/iclr.yaml --end-model KIND` makes them. Scores
every average of their uncalibrated probabilities on the config's gold, on half A (which chooses), half B (which
reports) and all of dev, and the cross-fitted ECE of each calibration (fitted on one half, measured on the other).
The embedding model reads its embeddings from --cache-dir when given. --quick: the quick store's TF-IDF run.
"""

from __future__ import annotations

import itertools
import sys

import mlflow
import numpy as np
from harness import REPO, config_gold, halves, load_classifier, quick_model, run, start

from models import CALIBRATORS, cross_fitted_ece
from models.evaluation import score

KINDS = ("minilm", "tfidf", "embedding")


def run_probabilities(store: str, experiment: str, frame, cache_dir: str | None) -> dict[str, np.ndarray]:
    """Uncalibrated dev probabilities of the newest finished run of each single end model."""
    mlflow.set_tracking_uri(store)
    runs = mlflow.search_runs(experiment_names=[experiment], filter_string="attributes.status = 'FINISHED'",
                              order_by=["start_time DESC"])
    probabilities = {}
    for kind in KINDS:
        found = runs[runs["tags.end_model"] == kind]
        if found.empty:
            continue
        run_id = found.iloc[0]["run_id"]
        classifier = load_classifier(f"runs:/{run_id}/model", store)
        if cache_dir and hasattr(classifier, "cache_dir"):
            classifier.cache_dir = cache_dir
        probabilities[kind] = classifier.predict_proba(frame)
        print(f"{kind}: run {run_id}", file=sys.stderr, flush=True)
    return probabilities


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--store", help="the MLflow tracking URI holding the runs"),
        parser.add_argument("--experiment", default="paper-areas-iclr"),
        parser.add_argument("--config", default=str(REPO / "configs" / "iclr.yaml")),
        parser.add_argument("--cache-dir", help="embedding cache of the runs (for the embedding model)")))
    if args.quick:
        args.store, _, args.config = quick_model()
        args.experiment = "paper-areas-quick"
    if not args.store:
        raise SystemExit("give --store TRACKING_URI")
    _, taxonomy, gold = config_gold(args.config)
    half_a = halves(gold.frame["id"])
    found = run_probabilities(args.store, args.experiment, gold.frame, args.cache_dir)
    report.note(gold_papers=len(gold.y), half_a=int(half_a.sum()), half_b=int((~half_a).sum()))
    rows = []
    for size in range(1, len(found) + 1):
        for combo in itertools.combinations(found, size):
            mean = np.mean([found[kind] for kind in combo], axis=0)
            predicted = mean.argmax(axis=1)
            row = {"end model": " + ".join(combo)}
            for part, mask in (("half A", half_a), ("half B", ~half_a), ("dev", np.ones_like(half_a))):
                result = score(gold.y[mask], predicted[mask], taxonomy.names)
                row |= {f"{part} accuracy": result.accuracy, f"{part} macro-F1": result.macro_f1}
                weakest = result.per_area["f1"].min()
            eces = {kind: cross_fitted_ece(mean, gold.y, half_a, calibrator)
                    for kind, calibrator in CALIBRATORS.items()}
            rows.append(row | {"weakest area F1": float(weakest)}
                        | {f"ECE {kind} (cross-fitted)": crossed.ece_after for kind, crossed in eces.items()}
                        | {"ECE uncalibrated": next(iter(eces.values())).ece_before})
    report.table("averages of the end models on gold", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
