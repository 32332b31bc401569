"""Issue 10: calibrating `confidence` without gold, with a map fitted on another taxonomy's gold.

    .venv/bin/python bench/bench_calibration_transfer.py \
        --model sqlite:////STORE_A.db models:/paper-area-classifier/1 configs/iclr.yaml \
        --model sqlite:////STORE_B.db models:/paper-area-classifier-pwc/1 configs/pwc.yaml \
        [--measure sqlite:////STORE_A.db models:/paper-area-classifier/2 configs/iclr.yaml]

Each model (STORE, MODEL_URI, CONFIG: the config gives its gold and taxonomy) is read uncalibrated on its gold; an
average (MiniLM + TF-IDF) gives three views: the average and each member alone. For every view, a top-label
logistic map (`TopLabelLogistic`) and a top-label isotonic map are fitted on the same view of the `--model`s of
the *other* taxonomies only, and measured (ECE) on this one: what a user of a new taxonomy without gold would see.
`--measure` models are only measured (e.g. a run trained without gold). Last, each view's map fitted on every
`--model` (all taxonomies pooled): the values `models.calibration.NO_GOLD_MAPS` ships, measured in-sample.
`--figure PNG` draws the reliability diagram of the first `--measure` model as served (its whole end model):
uncalibrated, and with the logistic map fitted on the other taxonomies.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import mlflow  # noqa: E402
import numpy as np  # noqa: E402

from labeling import load_taxonomy  # noqa: E402
from models import AveragedClassifier, TopLabelIsotonic, TopLabelLogistic  # noqa: E402
from models.evaluation import expected_calibration_error, reliability_diagram, split_by_id  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402
from paper_areas.pipeline.data import read_gold  # noqa: E402
from paper_areas.tracking import registered_version  # noqa: E402


@dataclass
class View:
    """One end model's uncalibrated probabilities on its gold."""

    model: str
    taxonomy: str
    name: str  # the end model: minilm+tfidf, minilm, tfidf
    probabilities: np.ndarray
    y: np.ndarray
    fits: bool  # a --model (fitted on) rather than a --measure model
    half_a: np.ndarray  # the gold papers of half A (`evaluation.split_by_id`)


def views(store: str, model_uri: str, config_path: str, fits: bool) -> list[View]:
    """The model's views on its config's gold: the model itself, and each member of an average."""
    config = load_config(config_path)
    taxonomy = load_taxonomy(config.taxonomy)
    gold = read_gold(config.gold, taxonomy)
    mlflow.set_tracking_uri(store)
    name = registered_version(model_uri).tags["end_model"]
    classifier = mlflow.pyfunc.load_model(model_uri).unwrap_python_model().classifier.calibrate(None)
    found = {name: classifier.predict_proba(gold.frame)}
    if isinstance(classifier, AveragedClassifier):
        members = classifier.member_probabilities(gold.frame)
        found |= dict(zip(name.split("+"), members, strict=True))
    half_a = split_by_id(gold.frame["id"])
    return [View(model_uri, taxonomy.name, view, probabilities, gold.y, fits, half_a)
            for view, probabilities in found.items()]


def pooled(views: list[View]) -> tuple[np.ndarray, np.ndarray]:
    """The views' probabilities stacked (padded with zero areas to the widest taxonomy) and their gold indices."""
    width = max(view.probabilities.shape[1] for view in views)
    stacked = [np.pad(view.probabilities, ((0, 0), (0, width - view.probabilities.shape[1]))) for view in views]
    return np.vstack(stacked), np.concatenate([view.y for view in views])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs=3, action="append", required=True, metavar=("STORE", "MODEL_URI", "CONFIG"))
    parser.add_argument("--measure", nargs=3, action="append", default=[], metavar=("STORE", "MODEL_URI", "CONFIG"))
    parser.add_argument("--figure", help="write the first --measure model's reliability diagram here (PNG)")
    args = parser.parse_args()
    found = [view for spec in args.model for view in views(*spec, fits=True)]
    found += [view for spec in args.measure for view in views(*spec, fits=False)]
    print("| model | taxonomy | end model | accuracy | ECE uncalibrated | ECE logistic map from the other taxonomies | "
          "ECE isotonic map from the other taxonomies | ECE shipped map (in-sample) |")
    print("|---|---|---|---:|---:|---:|---:|---:|")
    shipped = {}
    for name in dict.fromkeys(view.name for view in found):
        shipped[name] = TopLabelLogistic().fit(*pooled([v for v in found if v.name == name and v.fits]))
    for view in found:
        others = [v for v in found if v.name == view.name and v.fits and v.taxonomy != view.taxonomy]
        ece = [expected_calibration_error(view.probabilities, view.y)]
        for calibrator in (TopLabelLogistic, TopLabelIsotonic):
            fitted = calibrator().fit(*pooled(others)) if others else None
            ece.append(expected_calibration_error(fitted.transform(view.probabilities), view.y) if fitted else None)
        ece.append(expected_calibration_error(shipped[view.name].transform(view.probabilities), view.y))
        accuracy = (view.probabilities.argmax(axis=1) == view.y).mean()
        print(f"| {view.model}{'' if view.fits else ' (measured only)'} | {view.taxonomy} | {view.name} | "
              f"{accuracy:.3f} | " + " | ".join("-" if value is None else f"{value:.3f}" for value in ece) + " |")
    if args.figure:
        served = next(view for view in found if not view.fits)
        others = [v for v in found if v.name == served.name and v.fits and v.taxonomy != served.taxonomy]
        mapped = TopLabelLogistic().fit(*pooled(others)).transform(served.probabilities)
        figure = reliability_diagram({"uncalibrated": (served.probabilities, served.y),
                                      "map fitted on the other taxonomy's gold": (mapped, served.y)},
                                     title=f"Reliability on {served.taxonomy} gold, trained without gold")
        figure.savefig(args.figure, dpi=100, bbox_inches="tight")
    print("\nshipped maps (fitted on every --model):")
    for name, fitted in shipped.items():
        print(f"    {name!r}: TopLabelLogistic(slope={fitted.slope:.3f}, intercept={fitted.intercept:.3f}),")


if __name__ == "__main__":
    main()
