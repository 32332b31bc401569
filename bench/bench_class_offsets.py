"""Per-area offsets fitted on gold (`end_model.class_offsets`), scored on held-out halves of gold.

    .venv/bin/python bench/bench_class_offsets.py \
        --model sqlite:////STORE_A.db models:/paper-area-classifier/1 configs/iclr.yaml \
        [--model sqlite:////STORE_B.db models:/paper-area-classifier-pwc/1 configs/pwc.yaml ...] [--quick]

Each model (STORE, MODEL_URI, CONFIG: the config gives its gold and taxonomy) is read uncalibrated on its gold; an
average (MiniLM + TF-IDF) gives three views: the average and each member alone. Each view is scored as it predicts
(the isotonic map keeps the top area) and with per-area offsets + isotonic fitted on one half of gold and applied
to the other, and the reverse: accuracy / macro-F1 on half A, half B and all of gold, the cross-fitted ECE, and
how many areas are predicted at least once. --quick: the quick model.
"""

from __future__ import annotations

import numpy as np
from harness import quick_model, run, start, views

from models import cross_fitted_ece, new_calibrator
from models.evaluation import score


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: parser.add_argument(
        "--model", nargs=3, action="append", default=[], metavar=("STORE", "MODEL_URI", "CONFIG")))
    rows = []
    for spec in [quick_model()] if args.quick else args.model:
        for view in views(*spec):
            for label, offsets in (("isotonic", False), ("class offsets + isotonic", True)):
                crossed = cross_fitted_ece(view.probabilities, view.y, view.half_a,
                                           lambda offsets=offsets: new_calibrator("isotonic", offsets))
                predicted = crossed.calibrated.argmax(axis=1)
                row = {"taxonomy": view.taxonomy, "view": view.name, "calibration": label}
                for part, papers in (("half A", view.half_a), ("half B", ~view.half_a),
                                     ("all of gold", np.ones(len(view.y), dtype=bool))):
                    result = score(view.y[papers], predicted[papers], view.names)
                    row |= {f"{part} accuracy": result.accuracy, f"{part} macro-F1": result.macro_f1}
                rows.append(row | {"ECE (cross-fitted)": crossed.ece_after,
                                   "areas predicted": f"{len(set(predicted))} of {len(view.names)}"})
    report.table("offsets", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
