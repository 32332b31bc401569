"""`train.py calibrate`: calibrating `confidence` of a registered model afterwards (a few hundred labelled papers,
no retraining, a new version of the same model), with the training job's calibration stage and its logging."""

from __future__ import annotations

import sys

import mlflow
from mlflow.tracking import MlflowClient

from labeling import load_taxonomy
from models import CalibratedClassifier, CrossFitted, log_pyfunc_model, uncalibrated
from models.evaluation import score
from paper_areas.core import UserError
from paper_areas.pipeline.config import MlflowConfig
from paper_areas.pipeline.data import fingerprint
from paper_areas.pipeline.evaluate import checked_gold_and_model
from paper_areas.pipeline.stages import calibrate_on_gold, calibration_name, check_calibration_gold
from paper_areas.pipeline.training import log_calibration
from paper_areas.tracking import Registration, SourceScore, register_and_promote, registered_version, tracked_run


def calibrate_registered(model_uri: str, gold_path: str, taxonomy_path: str, kind: str, class_offsets: bool = False,
                         settings: MlflowConfig | None = None) -> tuple[CrossFitted, Registration]:
    """Calibrate the registered model `model_uri` on the gold papers at `gold_path` (labels of the taxonomy at
    `taxonomy_path`) in a new run of its training run's experiment, and register the calibrated model as a new
    version of the same registered model (the champion rule decides the alias, as for a trained model, on the
    cross-fitted scores; a calibrated copy of the champion is compared with the champion as served, on this gold).
    `settings` name the store (its tracking URI) and the champion alias (default: the schema's)."""
    settings = settings or MlflowConfig()
    if not model_uri.startswith("models:/"):
        raise UserError(f"{model_uri}: calibrate takes a registered model, models:/NAME/VERSION or models:/NAME@ALIAS")
    taxonomy = load_taxonomy(taxonomy_path)
    gold, model, carried = checked_gold_and_model(model_uri, gold_path, taxonomy, settings.tracking_uri)
    check_calibration_gold(gold, len(taxonomy.areas), gold_path)
    source = registered_version(model_uri)
    served = model.unwrap_python_model()
    classifier = uncalibrated(served.classifier)
    raw = classifier.predict_proba(gold.frame)
    calibrated_as_served = isinstance(served.classifier, CalibratedClassifier)
    as_served = served.classifier.calibrator.transform(raw) if calibrated_as_served else raw
    source_score = SourceScore(str(source.version), score(gold.y, as_served.argmax(axis=1), taxonomy.names).macro_f1)
    gold_fingerprint = gold.fingerprint()
    experiment_id = MlflowClient().get_run(source.run_id).info.experiment_id
    with tracked_run(experiment_id, f"calibrated-{taxonomy.name}") as run:
        mlflow.set_tags({"calibrated_from": f"models:/{source.name}/{source.version}", "taxonomy": taxonomy.name})
        mlflow.log_params({"calibration.kind": kind, "calibration.class_offsets": class_offsets,
                           "data.gold.papers": len(gold.y), "data.gold.fingerprint": fingerprint(gold.frame)})
        calibrated = calibrate_on_gold(classifier, raw, gold, kind, class_offsets)
        log_calibration(calibrated, raw, gold, calibration_name(kind, class_offsets))
        crossed = calibrated.crossed
        scores = score(gold.y, crossed.calibrated.argmax(axis=1), taxonomy.names)
        mlflow.log_metrics({f"gold.end_model.{key}": value for key, value in scores.summary().items()})
        info = log_pyfunc_model(calibrated.model, served.slugs, served.names, name="model", taxonomy=carried)
        registration = register_and_promote(
            info.model_uri, source.name, settings.champion_alias, scores.macro_f1,
            tags={"run_id": run.info.run_id, "calibrated_from": str(source.version)},
            taxonomy=carried, taxonomy_file=taxonomy.path, gold_fingerprint=gold_fingerprint, source=source_score,
        )
    return crossed, registration


def run_calibrate(model_uri: str, gold_path: str, taxonomy_path: str, kind: str, class_offsets: bool = False,
                  settings: MlflowConfig | None = None) -> int:
    """`train.py calibrate`: calibrate a registered model on gold and say what changed."""
    crossed, registration = calibrate_registered(model_uri, gold_path, taxonomy_path, kind, class_offsets, settings)
    print(f"confidence calibrated ({calibration_name(kind, class_offsets)}) on {gold_path}: expected calibration "
          f"error {crossed.ece_before:.3f} -> {crossed.ece_after:.3f} (cross-fitted on two halves of the gold papers)",
          file=sys.stderr)
    print("\n".join(registration.summary_lines()), file=sys.stderr)
    return 0
