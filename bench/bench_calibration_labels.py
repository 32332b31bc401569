"""How many gold labels calibrating `confidence` needs, for a user who has none.

    MLFLOW_TRACKING_URI=sqlite:///STORE.db .venv/bin/python bench/bench_calibration_labels.py \
        --model models:/paper-area-classifier/2 [--config configs/iclr.yaml] [--draws 20] [--quick]

Takes the model's uncalibrated probabilities on the config's gold, then, for each number of labels n, fits every
calibrator (`models.CALIBRATORS`) on n papers drawn at random from one half of gold (by the fixed hash of the id)
and measures the ECE on the other half; both halves in turn, `--draws` draws each: the mean ECE over the draws and
its 90th percentile (what an unlucky draw of n papers gives). --quick: the quick model, 10 and 20 labels, 2 draws.
"""

from __future__ import annotations

import numpy as np
from harness import REPO, config_gold, halves, load_classifier, quick_model, run, start

from models import CALIBRATORS
from models.evaluation import expected_calibration_error

LABELS = (25, 50, 100, 200, 400)


def heldout_eces(probabilities: np.ndarray, y: np.ndarray, half_a: np.ndarray, n: int | None, draws: int,
                 rng: np.random.Generator) -> dict[str, list[float]]:
    """Per calibrator kind, the ECE on one half after fitting on n papers of the other (None: all of it)."""
    eces: dict[str, list[float]] = {kind: [] for kind in CALIBRATORS}
    for _ in range(draws if n else 1):
        for fit_half in (half_a, ~half_a):
            rows = np.flatnonzero(fit_half)
            picked = rows if n is None else rng.choice(rows, n, replace=False)
            for kind, calibrator in CALIBRATORS.items():
                fitted = calibrator().fit(probabilities[picked], y[picked])
                eces[kind].append(expected_calibration_error(fitted.transform(probabilities[~fit_half]), y[~fit_half]))
    return eces


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--model", help="an MLflow model URI in MLFLOW_TRACKING_URI's store"),
        parser.add_argument("--config", default=str(REPO / "configs" / "iclr.yaml"), help="gives gold and taxonomy"),
        parser.add_argument("--draws", type=int, default=20)))
    tracking_uri, model, config_path = quick_model() if args.quick else (None, args.model, args.config)
    if not model:
        raise SystemExit("give --model URI")
    labels, draws = ((10, 20), 2) if args.quick else (LABELS, args.draws)
    _, _, gold = config_gold(config_path)
    probabilities = load_classifier(model, tracking_uri).predict_proba(gold.frame)
    half_a = halves(gold.frame["id"])
    rng = np.random.default_rng(0)
    report.note(model=model, gold=str(config_path), accuracy=float((probabilities.argmax(1) == gold.y).mean()),
                ece_uncalibrated_mean_of_halves=float(np.mean([
                    expected_calibration_error(probabilities[half], gold.y[half]) for half in (half_a, ~half_a)])))
    rows = []
    for n in (*labels, None):
        eces = heldout_eces(probabilities, gold.y, half_a, n, draws, rng)
        rows.append({"gold labels": n or f"a whole half ({int(half_a.sum())} / {int((~half_a).sum())})"}
                    | {f"ECE {kind} mean": float(np.mean(v)) for kind, v in eces.items()}
                    | {f"ECE {kind} 90th pct.": float(np.quantile(v, 0.9)) for kind, v in eces.items()})
    report.table("held-out ECE after calibrating on n labels", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
