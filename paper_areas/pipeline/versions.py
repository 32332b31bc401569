"""New versions of a registered model without the weak-label training: `train.py calibrate` (its confidence fitted on
gold) and `train.py add-labels` (fine-tuned on a round of hand labels, from its weights). Each runs in a new run of
the source's experiment and registers the result as the next version; the champion rule compares it with its source
as served, on the same papers."""

from __future__ import annotations

import sys
from dataclasses import dataclass

import mlflow
import numpy as np
from mlflow.entities.model_registry import ModelVersion
from mlflow.tracking import MlflowClient

from labeling import Taxonomy, load_taxonomy
from models import (
    CalibratedClassifier,
    CrossFitted,
    ProbabilisticClassifier,
    log_pyfunc_model,
    uncalibrated,
)
from models.evaluation import Scores, score
from models.pyfunc import TAXONOMY_KEY
from paper_areas.core import UserError
from paper_areas.pipeline import stages
from paper_areas.pipeline.config import MlflowConfig, TrainConfig
from paper_areas.pipeline.data import Gold, fingerprint
from paper_areas.pipeline.evaluate import checked_gold_and_model, load_model, refuse_another_taxonomy
from paper_areas.pipeline.stages import calibration_name, check_calibration_gold
from paper_areas.pipeline.training import (
    END_MODEL_TAG,
    GOLD,
    HAND_LABELS,
    HAND_LABELS_TAG,
    calibrate_on,
    log_calibration,
    log_hand_labels,
    log_hand_labels_input,
    print_summary,
)
from paper_areas.tracking import Registration, SourceScore, register_and_promote, registered_version, tracked_run


@dataclass
class Source:
    """A registered version as loaded: its classifier (uncalibrated, as trained) and how it is served."""

    uri: str
    version: ModelVersion
    served: ProbabilisticClassifier  # with its calibration, if any
    taxonomy: str | None  # the taxonomy the model carries

    @property
    def classifier(self) -> ProbabilisticClassifier:
        return uncalibrated(self.served)

    def as_served(self, raw: np.ndarray) -> np.ndarray:
        """The source's served probabilities from its uncalibrated ones."""
        return self.served.calibrator.transform(raw) if isinstance(self.served, CalibratedClassifier) else raw

    def score(self, raw: np.ndarray, on: Gold, names: list[str]) -> SourceScore:
        """The source as served, scored on `on`: what a new version of it is compared with."""
        return SourceScore(str(self.version.version), score(on.y, self.as_served(raw).argmax(axis=1), names).macro_f1)


def load_source(model_uri: str, taxonomy: Taxonomy, gold_path: str | None, tracking_uri: str,
                command: str) -> tuple[Source, Gold | None]:
    """The registered model `model_uri` (refused unless a registry URI, or when it carries another taxonomy) and,
    with `gold_path`, the gold papers."""
    if not model_uri.startswith("models:/"):
        raise UserError(f"{model_uri}: {command} takes a registered model, models:/NAME/VERSION or models:/NAME@ALIAS")
    if gold_path:
        gold, model, carried = checked_gold_and_model(model_uri, gold_path, taxonomy, tracking_uri)
    else:
        gold, model = None, load_model(model_uri, tracking_uri)
        carried = (model.metadata.metadata or {}).get(TAXONOMY_KEY)
        refuse_another_taxonomy(model_uri, carried, taxonomy)
    return Source(model_uri, registered_version(model_uri), model.unwrap_python_model().classifier, carried), gold


def register_version(model: ProbabilisticClassifier, source: Source, taxonomy: Taxonomy, macro_f1: float,
                     measured: Gold, source_score: SourceScore, config_alias: str, tags: dict[str, str]
                     ) -> Registration:
    """Log `model` as the active run's model and register it as the next version of the source's model."""
    info = log_pyfunc_model(model, taxonomy.slugs, taxonomy.names, name="model", taxonomy=source.taxonomy)
    return register_and_promote(
        info.model_uri, source.version.name, config_alias, macro_f1, tags={"run_id": mlflow.active_run().info.run_id,
                                                                         **tags},
        taxonomy=source.taxonomy, taxonomy_file=taxonomy.path, gold_fingerprint=measured.fingerprint(),
        source=source_score)


def _experiment_of(source: Source) -> str:
    return MlflowClient().get_run(source.version.run_id).info.experiment_id


def calibrate_registered(model_uri: str, gold_path: str, taxonomy_path: str, kind: str, class_offsets: bool = False,
                         settings: MlflowConfig | None = None) -> tuple[CrossFitted, Registration]:
    """Calibrate the registered model `model_uri` on gold and register the result as its next version; the champion
    rule decides the alias on the cross-fitted scores (a calibrated champion is compared with the champion as
    served, on this gold). `settings`: the store and the champion alias."""
    settings = settings or MlflowConfig()
    taxonomy = load_taxonomy(taxonomy_path)
    source, gold = load_source(model_uri, taxonomy, gold_path, settings.tracking_uri, "calibrate")
    check_calibration_gold(gold, len(taxonomy.areas), gold_path)
    raw = source.classifier.predict_proba(gold.frame)
    source_score = source.score(raw, gold, taxonomy.names)
    with tracked_run(_experiment_of(source), f"calibrated-{taxonomy.name}"):
        mlflow.set_tags({"calibrated_from": f"models:/{source.version.name}/{source.version.version}",
                         "taxonomy": taxonomy.name})
        mlflow.log_params({"calibration.kind": kind, "calibration.class_offsets": class_offsets,
                           "data.gold.papers": len(gold.y), "data.gold.fingerprint": fingerprint(gold.frame)})
        calibrated, crossed = stages.calibrate_on_gold(source.classifier, raw, gold, kind, class_offsets)
        log_calibration(calibrated, crossed, raw, gold, calibration_name(kind, class_offsets))
        scores = score(gold.y, crossed.calibrated.argmax(axis=1), taxonomy.names)
        mlflow.log_metrics({f"gold.end_model.{key}": value for key, value in scores.summary().items()})
        registration = register_version(calibrated, source, taxonomy, scores.macro_f1, gold, source_score,
                                        settings.champion_alias,
                                        {"calibrated_from": str(source.version.version),
                                         HAND_LABELS_TAG: source.version.tags.get(HAND_LABELS_TAG, "0")})
    return crossed, registration


@dataclass
class LabelsAdded:
    registration: Registration
    scores: dict[str, Scores]  # on gold, else on the hand labels (out of fold): the new version and its source
    measured_on: str
    seconds: float  # fine-tuning, with the out-of-fold copies


def add_hand_labels(model_uri: str, config: TrainConfig) -> LabelsAdded:
    """Fine-tune the registered model `model_uri` from its weights on the labelled papers of the config's
    `hand_labels.sheets`, calibrate it (on the config's gold, else on the hand labels out of fold: the config's
    `end_model.calibration` and `class_offsets`; too few hand labels: the shipped map) and register it as the
    next version, tagged with the hand labels it has learnt (its source's and these)."""
    taxonomy = load_taxonomy(config.taxonomy)
    names = taxonomy.names
    hand = stages.read_hand_labels(config, taxonomy)
    if hand is None:
        raise UserError("add-labels: no sheet given (--hand-labels SHEET)")
    source, gold = load_source(model_uri, taxonomy, config.gold, config.mlflow.tracking_uri, "add-labels")
    classifier = source.classifier
    learnt = int(source.version.tags.get(HAND_LABELS_TAG, "0")) + len(hand)
    with tracked_run(_experiment_of(source), f"hand-labels-{taxonomy.name}"):
        mlflow.set_tags({"hand_labels_added_to": f"models:/{source.version.name}/{source.version.version}",
                         "taxonomy": taxonomy.name})
        mlflow.log_params({f"hand_labels.{key}": value for key, value in config.flat().items()
                           if key.startswith("hand_labels.")} | {"gold": config.gold})
        log_hand_labels_input(hand, taxonomy, config)
        before_on_gold = classifier.predict_proba(gold.frame) if gold else None
        tuned = stages.fine_tune_on_hand_labels(classifier, hand, len(names), stages.fine_tuning(config))
        log_hand_labels(tuned, hand, names)
        measured = gold or tuned.labels
        on = GOLD if gold else HAND_LABELS
        raw = classifier.predict_proba(gold.frame) if gold else tuned.out_of_fold
        source_score = source.score(before_on_gold if gold else tuned.before, measured, names)
        kinds = source.version.tags.get(END_MODEL_TAG, "").split("+")
        model, predicted = calibrate_on(classifier, raw, measured, config, kinds, on)
        scores = {"end_model": score(measured.y, predicted, names),
                  "weak_labels_only": score(measured.y, source.as_served(before_on_gold if gold else tuned.before)
                                            .argmax(axis=1), names)}
        for predictor, result in scores.items():
            mlflow.log_metrics({f"{on}.{predictor}.{key}": value for key, value in result.summary().items()})
        registration = register_version(model, source, taxonomy, scores["end_model"].macro_f1, measured,
                                        source_score, config.mlflow.champion_alias,
                                        {"hand_labels_added_to": str(source.version.version),
                                         HAND_LABELS_TAG: str(learnt),
                                         END_MODEL_TAG: source.version.tags.get(END_MODEL_TAG, "")})
    return LabelsAdded(registration, scores, on, tuned.seconds)


def run_calibrate(model_uri: str, gold_path: str, taxonomy_path: str, kind: str, class_offsets: bool = False,
                  settings: MlflowConfig | None = None) -> int:
    """`train.py calibrate`: calibrate a registered model on gold and say what changed."""
    crossed, registration = calibrate_registered(model_uri, gold_path, taxonomy_path, kind, class_offsets, settings)
    print(f"confidence calibrated ({calibration_name(kind, class_offsets)}) on {gold_path}: expected calibration "
          f"error {crossed.ece_before:.3f} -> {crossed.ece_after:.3f} (cross-fitted on two halves of the gold papers)",
          file=sys.stderr)
    print("\n".join(registration.summary_lines()), file=sys.stderr)
    return 0


def run_add_labels(model_uri: str, config: TrainConfig) -> int:
    """`train.py add-labels`: fine-tune a registered model on a round of hand labels and say what it gained."""
    added = add_hand_labels(model_uri, config)
    print_summary(added.scores, added.measured_on)
    print(f"fine-tuned in {added.seconds:.0f} s", file=sys.stderr)
    print("\n".join(added.registration.summary_lines()), file=sys.stderr)
    return 0
