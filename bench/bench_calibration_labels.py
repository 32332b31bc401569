"""Issue 10: how many gold labels calibrating `confidence` needs, for a user who has none.

    MLFLOW_TRACKING_URI=sqlite:///STORE.db .venv/bin/python bench/bench_calibration_labels.py \
        --model models:/paper-area-classifier/2 [--config configs/iclr.yaml] [--draws 20]

Takes the model's uncalibrated probabilities on the config's gold, then, for each number of labels n, fits every
calibrator (top-label isotonic, temperature) on n papers drawn at random from one half of gold (by the fixed hash of
the id) and measures the ECE on the other half; both halves in turn, `--draws` draws each. Prints markdown: the mean
ECE over the draws and its 90th percentile (what an unlucky draw of n papers gives).
"""

from __future__ import annotations

import argparse
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
from models import CALIBRATORS  # noqa: E402
from models.evaluation import expected_calibration_error, split_by_id  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402
from paper_areas.pipeline.data import read_gold  # noqa: E402
from paper_areas.tracking import resolve_tracking_uri  # noqa: E402

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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="an MLflow model URI, e.g. models:/paper-area-classifier/2")
    parser.add_argument("--config", default=str(REPO / "configs" / "iclr.yaml"), help="gives the gold and taxonomy")
    parser.add_argument("--draws", type=int, default=20)
    args = parser.parse_args()
    config = load_config(args.config)
    gold = read_gold(config.gold, load_taxonomy(config.taxonomy))
    mlflow.set_tracking_uri(resolve_tracking_uri())
    classifier = mlflow.pyfunc.load_model(args.model).unwrap_python_model().classifier
    probabilities = classifier.calibrate(None).predict_proba(gold.frame)
    half_a = split_by_id(gold.frame["id"])
    rng = np.random.default_rng(0)
    uncalibrated = [expected_calibration_error(probabilities[half], gold.y[half]) for half in (half_a, ~half_a)]
    print(f"{args.model} on {config.gold}: accuracy {(probabilities.argmax(1) == gold.y).mean():.3f}, "
          f"uncalibrated ECE {np.mean(uncalibrated):.3f} (mean of the halves)\n")
    print("| gold labels | " + " | ".join(f"ECE {kind}: mean / 90th pct." for kind in CALIBRATORS) + " |")
    print("|---:|" + "---|" * len(CALIBRATORS))
    for n in (*LABELS, None):
        eces = heldout_eces(probabilities, gold.y, half_a, n, args.draws, rng)
        label = f"{n}" if n else f"a whole half ({int(half_a.sum())} / {int((~half_a).sum())})"
        print(f"| {label} | " + " | ".join(f"{np.mean(v):.3f} / {np.quantile(v, 0.9):.3f}" for v in eces.values())
              + " |")


if __name__ == "__main__":
    main()
