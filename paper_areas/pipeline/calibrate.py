"""Calibrating `confidence`: on gold inside a training run, or afterwards for a registered model (`train.py calibrate`:
a few hundred labelled papers, no retraining, a new version of the same model); without gold, the shipped map."""

from __future__ import annotations

import math
import sys

import mlflow
import numpy as np
from mlflow.tracking import MlflowClient

from labeling import load_taxonomy
from models import (
    Calibrator,
    CrossFitted,
    ProbabilisticClassifier,
    cross_fitted_ece,
    log_pyfunc_model,
    new_calibrator,
    no_gold_map,
)
from models.evaluation import reliability_diagram, score, split_by_id
from paper_areas.core import UserError
from paper_areas.pipeline.config import MlflowConfig
from paper_areas.pipeline.data import Gold, GoldError, fingerprint
from paper_areas.pipeline.evaluate import checked_gold_and_model
from paper_areas.tracking import (
    Registration,
    SourceScore,
    log_figure,
    register_and_promote,
    registered_version,
    tracked_run,
)

MIN_GOLD_PER_HALF = 10  # the ECE is cross-fitted: each half of gold fits the calibration the other half measures
# Gold must have papers of at least this share of the taxonomy's areas: a calibration fitted on a few areas is theirs,
# not the model's, and per-area offsets push down every area gold has no paper of (fitted on 31 papers of one area,
# they sent 89.5% of all papers to it).
MIN_GOLD_AREA_SHARE = 0.5


def check_calibration_gold(gold: Gold, n_areas: int, where: str, hint: str = "") -> None:
    """Refuse (GoldError, one line naming `where`, ending with `hint`) gold that cannot support a calibration: fewer
    than MIN_GOLD_PER_HALF papers in either half by id, or papers of fewer than MIN_GOLD_AREA_SHARE of the `n_areas`
    areas."""
    hint = f"; {hint}" if hint else ""
    halves = split_by_id(gold.frame["id"])
    if min(halves.sum(), (~halves).sum()) < MIN_GOLD_PER_HALF:
        raise GoldError(f"{where}: {len(gold.y)} gold papers, too few to calibrate on and measure (at least "
                        f"{MIN_GOLD_PER_HALF} in each half by id; a few hundred make a good calibration{hint})")
    areas, needed = len(np.unique(gold.y)), math.ceil(MIN_GOLD_AREA_SHARE * n_areas)
    if areas < needed:
        raise GoldError(f"{where}: gold papers of {areas} of the {n_areas} areas, too few to calibrate on (at least "
                        f"{needed}: a calibration fitted on a few areas is theirs, not the model's{hint})")


def calibration_name(kind: str, class_offsets: bool) -> str:
    """What a calibration does, as said in tags and messages: "class offsets + isotonic", "temperature", ..."""
    return " + ".join((["class offsets"] if class_offsets else []) + ([kind] if kind != "none" else []))


def fit_calibration(model: ProbabilisticClassifier, raw: np.ndarray, gold: Gold, kind: str,
                    class_offsets: bool = False) -> CrossFitted:
    """Fit `model`'s calibrator (`kind`, after per-area offsets when `class_offsets`) on all of gold from its
    uncalibrated probabilities `raw`; log into the active run the ECE before and after, cross-fitted (calibrated on
    one half of gold, measured on the other, and the reverse), and the reliability diagram. The cross-fitted
    probabilities it returns are the held-out predictions the run's gold scores come from."""

    def calibrator() -> Calibrator:
        return new_calibrator(kind, class_offsets)

    crossed = cross_fitted_ece(raw, gold.y, split_by_id(gold.frame["id"]), calibrator)
    model.calibrate(calibrator().fit(raw, gold.y))
    mlflow.set_tag("calibration", f"{calibration_name(kind, class_offsets)} fitted on gold")
    mlflow.log_metrics({"gold.end_model.ece_uncalibrated": crossed.ece_before, "gold.end_model.ece": crossed.ece_after}
                       | _calibration_numbers(model.calibrator_))
    figure = reliability_diagram({"uncalibrated": (raw, gold.y),
                                  "calibrated (cross-fitted halves)": (crossed.calibrated, gold.y)})
    log_figure(figure, "evaluation/reliability_diagram.png")
    return crossed


def calibrate_without_gold(model: ProbabilisticClassifier, kinds: list[str], setting: str) -> str:
    """Without gold: unless `setting` is "none", calibrate `model` with the map shipped for its `kinds`
    (`models.registry.NO_GOLD_MAPS`: fitted on other taxonomies' gold); tag the active run with what was done and
    return that."""
    end_model = "+".join(kinds)
    shipped = no_gold_map(kinds) if setting == "shipped" else None
    if shipped is None:
        why = "end_model.calibration_without_gold: none" if setting == "none" else f"no map shipped for {end_model}"
        done = f"none (no gold; {why})"
    else:
        model.calibrate(shipped)
        mlflow.log_metrics(_calibration_numbers(shipped))
        done = f"{shipped.KIND} map shipped for {end_model} (no gold)"
    mlflow.set_tag("calibration", done)
    return done


def _calibration_numbers(calibrator: Calibrator) -> dict[str, float]:
    """A calibrator's fitted numbers as run metrics (`calibration.temperature`, `calibration.slope`, ...); an isotonic
    map's knots are in the saved model, not here."""
    return {f"calibration.{key}": value for key, value in calibrator.state().items() if isinstance(value, float)}


def calibrate_registered(model_uri: str, gold_path: str, taxonomy_path: str, kind: str,
                         class_offsets: bool = False) -> tuple[CrossFitted, Registration]:
    """Calibrate the registered model `model_uri` on the gold papers at `gold_path` (labels of the taxonomy at
    `taxonomy_path`) in a new run of its training run's experiment, and register the calibrated model as a new
    version of the same registered model (the champion rule decides the alias, as for a trained model, on the
    cross-fitted scores; a calibrated copy of the champion is compared with the champion as served, on this gold)."""
    if not model_uri.startswith("models:/"):
        raise UserError(f"{model_uri}: calibrate takes a registered model, models:/NAME/VERSION or models:/NAME@ALIAS")
    taxonomy = load_taxonomy(taxonomy_path)
    gold, model, carried = checked_gold_and_model(model_uri, gold_path, taxonomy)
    check_calibration_gold(gold, len(taxonomy.areas), gold_path)
    source = registered_version(model_uri)
    served = model.unwrap_python_model()
    classifier = served.classifier
    current = classifier.calibrator_
    raw = classifier.calibrate(None).predict_proba(gold.frame)
    as_served = raw if current is None else current.transform(raw)
    source_score = SourceScore(str(source.version), score(gold.y, as_served.argmax(axis=1), taxonomy.names).macro_f1)
    gold_fingerprint = gold.fingerprint()
    experiment_id = MlflowClient().get_run(source.run_id).info.experiment_id
    with tracked_run(experiment_id, f"calibrated-{taxonomy.name}") as run:
        mlflow.set_tags({"calibrated_from": f"models:/{source.name}/{source.version}", "taxonomy": taxonomy.name})
        mlflow.log_params({"calibration.kind": kind, "calibration.class_offsets": class_offsets,
                           "data.gold.papers": len(gold.y), "data.gold.fingerprint": fingerprint(gold.frame)})
        crossed = fit_calibration(classifier, raw, gold, kind, class_offsets)
        scores = score(gold.y, crossed.calibrated.argmax(axis=1), taxonomy.names)
        mlflow.log_metrics({f"gold.end_model.{key}": value for key, value in scores.summary().items()})
        info = log_pyfunc_model(classifier, served.slugs, served.names, name="model", taxonomy=carried)
        registration = register_and_promote(
            info.model_uri, source.name, MlflowConfig.champion_alias, scores.macro_f1,
            tags={"run_id": run.info.run_id, "calibrated_from": str(source.version)},
            taxonomy=carried, taxonomy_file=taxonomy.path, gold_fingerprint=gold_fingerprint, source=source_score,
        )
    return crossed, registration


def run_calibrate(model_uri: str, gold_path: str, taxonomy_path: str, kind: str, class_offsets: bool = False) -> int:
    """`train.py calibrate`: calibrate a registered model on gold and say what changed."""
    crossed, registration = calibrate_registered(model_uri, gold_path, taxonomy_path, kind, class_offsets)
    print(f"confidence calibrated ({calibration_name(kind, class_offsets)}) on {gold_path}: expected calibration "
          f"error {crossed.ece_before:.3f} -> {crossed.ece_after:.3f} (cross-fitted on two halves of the gold papers)",
          file=sys.stderr)
    print("\n".join(registration.summary_lines()), file=sys.stderr)
    return 0
