"""Issue 10/12: per-area offsets fitted on gold (`end_model.class_offsets`), scored on held-out halves of gold.

    .venv/bin/python bench/bench_class_offsets.py \
        --model sqlite:////STORE_A.db models:/paper-area-classifier/1 configs/iclr.yaml \
        [--model sqlite:////STORE_B.db models:/paper-area-classifier-pwc/1 configs/pwc.yaml ...]

Each model (STORE, MODEL_URI, CONFIG: the config gives its gold and taxonomy) is read uncalibrated on its gold; an
average (MiniLM + TF-IDF) gives three views: the average and each member alone. Each view is scored as it predicts
(the isotonic map keeps the top area) and with per-area offsets + isotonic fitted on one half of gold (by
`evaluation.split_by_id`) and applied to the other, and the reverse: accuracy / macro-F1 on half A, half B and all
of gold, the cross-fitted ECE, and how many areas are predicted at least once.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
from bench_calibration_transfer import View, views  # noqa: E402

from labeling import load_taxonomy  # noqa: E402
from models import cross_fitted_ece, new_calibrator  # noqa: E402
from models.evaluation import score  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402


def scored(view: View, predicted: np.ndarray, names: list[str]) -> str:
    """Accuracy / macro-F1 on half A, half B and all of gold, as table cells."""
    cells = []
    for papers in (view.half_a, ~view.half_a, np.ones(len(view.y), dtype=bool)):
        result = score(view.y[papers], predicted[papers], names)
        cells.append(f"{result.accuracy:.3f} / {result.macro_f1:.3f}")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs=3, action="append", required=True, metavar=("STORE", "MODEL_URI", "CONFIG"))
    args = parser.parse_args()
    print("| taxonomy | view | calibration | half A | half B | all of gold | ECE (cross-fitted) | areas predicted |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    for store, model_uri, config_path in args.model:
        names = load_taxonomy(load_config(config_path).taxonomy).names
        for view in views(store, model_uri, config_path, fits=False):
            for label, offsets in (("isotonic", False), ("class offsets + isotonic", True)):
                crossed = cross_fitted_ece(view.probabilities, view.y, view.half_a,
                                           lambda offsets=offsets: new_calibrator("isotonic", offsets))
                predicted = crossed.calibrated.argmax(axis=1)
                print(f"| {view.taxonomy} | {view.name} | {label} | {scored(view, predicted, names)} | "
                      f"{crossed.ece_after:.3f} | {len(set(predicted))} of {len(names)} |", flush=True)


if __name__ == "__main__":
    main()
