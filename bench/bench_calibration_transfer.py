"""Calibrating `confidence` without gold, with a map fitted on another taxonomy's gold.

    .venv/bin/python bench/bench_calibration_transfer.py \
        --model sqlite:////STORE_A.db models:/paper-area-classifier/1 configs/iclr.yaml \
        --model sqlite:////STORE_B.db models:/paper-area-classifier-pwc/1 configs/pwc.yaml \
        [--measure sqlite:////STORE_A.db models:/paper-area-classifier/2 configs/iclr.yaml] [--figure PNG] [--quick]

Each model (STORE, MODEL_URI, CONFIG: the config gives its gold and taxonomy) is read uncalibrated on its gold; an
average (MiniLM + TF-IDF) gives three views: the average and each member alone. For every view, a top-label
logistic map (`TopLabelLogistic`) and a top-label isotonic map are fitted on the same view of the `--model`s of
the *other* taxonomies only, and measured (ECE) on this one: what a user of a new taxonomy without gold would see.
`--measure` models are only measured (e.g. a run trained without gold). Last, each view's map fitted on every
`--model` (all taxonomies pooled): the values `models.NO_GOLD_MAPS` ships, measured in-sample.
`--figure PNG` draws the reliability diagram of the first `--measure` model as served (its whole end model):
uncalibrated, and with the logistic map fitted on the other taxonomies. --quick: the quick model, one taxonomy.
"""

from __future__ import annotations

import numpy as np
from harness import View, quick_model, run, start, views

from models import TopLabelIsotonic, TopLabelLogistic
from models.evaluation import expected_calibration_error, reliability_diagram


def pooled(found: list[View]) -> tuple[np.ndarray, np.ndarray]:
    """The views' probabilities stacked (padded with zero areas to the widest taxonomy) and their gold indices."""
    width = max(view.probabilities.shape[1] for view in found)
    stacked = [np.pad(view.probabilities, ((0, 0), (0, width - view.probabilities.shape[1]))) for view in found]
    return np.vstack(stacked), np.concatenate([view.y for view in found])


def ece_of(calibrator, fit_on: list[View], view: View) -> float | None:
    """ECE of `view` through `calibrator` fitted on the pooled `fit_on` views (None without any)."""
    if not fit_on:
        return None
    return expected_calibration_error(calibrator().fit(*pooled(fit_on)).transform(view.probabilities), view.y)


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--model", nargs=3, action="append", default=[], metavar=("STORE", "MODEL_URI", "CONFIG")),
        parser.add_argument("--measure", nargs=3, action="append", default=[],
                            metavar=("STORE", "MODEL_URI", "CONFIG")),
        parser.add_argument("--figure", help="write the first --measure model's reliability diagram here (PNG)")))
    fitted_on, measured = ([quick_model()], [quick_model()]) if args.quick else (args.model, args.measure)
    if not fitted_on:
        raise SystemExit("give at least one --model STORE MODEL_URI CONFIG")
    found = [view for spec in fitted_on for view in views(*spec, fits=True)]
    found += [view for spec in measured for view in views(*spec, fits=False)]
    shipped = {name: TopLabelLogistic().fit(*pooled([v for v in found if v.name == name and v.fits]))
               for name in dict.fromkeys(view.name for view in found)}
    rows = []
    for view in found:
        others = [v for v in found if v.name == view.name and v.fits and v.taxonomy != view.taxonomy]
        rows.append({"model": view.model + ("" if view.fits else " (measured only)"), "taxonomy": view.taxonomy,
                     "end model": view.name, "accuracy": float((view.probabilities.argmax(axis=1) == view.y).mean()),
                     "ECE uncalibrated": expected_calibration_error(view.probabilities, view.y),
                     "ECE logistic map from the other taxonomies": ece_of(TopLabelLogistic, others, view),
                     "ECE isotonic map from the other taxonomies": ece_of(TopLabelIsotonic, others, view),
                     "ECE shipped map (in-sample)": expected_calibration_error(
                         shipped[view.name].transform(view.probabilities), view.y)})
    report.table("ECE of confidence on each model's gold", rows)
    report.table("maps fitted on every --model (models.NO_GOLD_MAPS)", [
        {"end model": name, "slope": fitted.slope, "intercept": fitted.intercept} for name, fitted in shipped.items()])
    if args.figure and measured:
        served = next(view for view in found if not view.fits)
        others = [v for v in found if v.name == served.name and v.fits and v.taxonomy != served.taxonomy]
        mapped = TopLabelLogistic().fit(*pooled(others)).transform(served.probabilities)
        figure = reliability_diagram({"uncalibrated": (served.probabilities, served.y),
                                      "map fitted on the other taxonomy's gold": (mapped, served.y)},
                                     title=f"Reliability on {served.taxonomy} gold, trained without gold")
        figure.savefig(args.figure, dpi=100, bbox_inches="tight")
    return report.write()


if __name__ == "__main__":
    run(main)
