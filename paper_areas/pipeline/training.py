"""The training job: the stages of `paper_areas.pipeline.stages` run inside one MLflow run, everything they return
logged and the model registered; and `train.py calibrate`, the calibration stage run again on a registered model."""

from __future__ import annotations

import shlex
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from labeling import Taxonomy, lf_table
from models import (
    CalibratedClassifier,
    Calibrator,
    CrossFitted,
    ProbabilisticClassifier,
    log_pyfunc_model,
)
from models.evaluation import Scores, reliability_diagram, score
from paper_areas.core import UserError
from paper_areas.hand_labels import HandLabels
from paper_areas.pipeline import stages
from paper_areas.pipeline.config import REPO, TrainConfig
from paper_areas.pipeline.data import Gold, fingerprint
from paper_areas.pipeline.stages import Inputs, Labels, calibration_name, say
from paper_areas.tracking import (
    Registration,
    connect,
    git_commit,
    log_confusion_matrix,
    log_figure,
    log_frame,
    log_label_distribution,
    mask_credentials,
    register_and_promote,
    repo_store_uri,
    resolve_tracking_uri,
    tracked_run,
)

GOLD, HAND_LABELS = "gold", "hand_labels"  # what a run is measured on: the prefixes of its metrics
MEASURED_ON = {GOLD: "gold", HAND_LABELS: "the hand labels (out of fold)"}
HAND_LABELS_TAG = "hand_labels"  # on a registered version: how many hand labels it was fine-tuned on
END_MODEL_TAG = "end_model"  # on a run and a registered version: what is served (`EndModelConfig.name`)
MIN_RANDOM_LABELS = 20  # hand labels chosen at random needed to report an accuracy on them alone


@dataclass
class TrainResult:
    run_id: str
    experiment_id: str
    registration: Registration
    scores: dict[str, Scores]  # predictor -> scores on gold, else on the hand labels (empty without either)
    n_papers: int
    n_trained: int
    seconds: float
    measured_on: str = GOLD  # GOLD or HAND_LABELS: what `scores` are on


def train(config: TrainConfig) -> TrainResult:
    """Check the inputs (bad ones raise before the run starts), then run the job inside one MLflow run; an exception
    there marks it FAILED and leaves the champion, a UserError's message kept as the run's `error` tag."""
    started = time.perf_counter()
    resolve_tracking_uri(config.mlflow.tracking_uri, REPO)  # a bad URI fails before the inputs are read
    inputs = stages.read(config)
    experiment_id = connect(config.mlflow.tracking_uri, config.mlflow.artifact_root, config.mlflow.experiment, REPO)
    run_name = f"{config.end_model.name}-{inputs.taxonomy.name}"
    with tracked_run(experiment_id, run_name) as run:
        try:
            registration, scores, n_trained = _train_in_run(config, inputs, run.info.run_id)
        except UserError as error:
            mlflow.set_tag("error", str(error))
            raise
        seconds = time.perf_counter() - started
        mlflow.log_metric("run.seconds", seconds)
    return TrainResult(run.info.run_id, experiment_id, registration, scores, inputs.n_read, n_trained, seconds,
                       GOLD if inputs.gold else HAND_LABELS)


def _train_in_run(config: TrainConfig, inputs: Inputs, run_id: str) -> tuple[Registration, dict[str, Scores], int]:
    """Run the stages after `read` in the active run, logging each; the registration, gold scores, papers trained."""
    taxonomy, gold, names = inputs.taxonomy, inputs.gold, inputs.taxonomy.names
    mlflow.set_tags({"git_commit": git_commit(REPO), "end_model": config.end_model.name, "taxonomy": taxonomy.name})
    mlflow.log_params({key: mask_credentials(value) if isinstance(value, str) else value
                       for key, value in config.flat().items()})
    _log_inputs(inputs, config)
    mlflow.log_artifact(config.taxonomy, "taxonomy")
    all_votes = stages.votes(inputs, config.label_model.embedding_lfs, config.embeddings)
    training = stages.labels(all_votes, inputs.frame, config, names, gold)
    _log_labels(training, all_votes, gold)
    model = stages.end_model(config, training, gold, on_epoch=_log_epoch)
    mlflow.set_tag("end_model.best_epoch", str(model.best_epoch_))
    model = stages.with_teacher(model, taxonomy, training.choice, len(all_votes.lfs), config.end_model.teacher_weight)
    weak_only = None  # with gold and hand labels: the served model before the hand labels, on gold
    if gold and inputs.hand:
        weak_only = stages.gold_probabilities(model, config.end_model.kinds, gold, names)[0]
    tuned = None
    if inputs.hand:
        tuned = stages.fine_tune_on_hand_labels(model, inputs.hand, len(names), stages.fine_tuning(config))
        model = tuned.model
        log_hand_labels(tuned, inputs.hand, names)
    scores: dict[str, Scores] = {}
    predicted = None
    measure = gold or (tuned.labels if tuned else None)  # without gold, the hand labels score and calibrate
    if measure:
        if gold:
            raw, member_scores = stages.gold_probabilities(model, config.end_model.kinds, gold, names)
        else:
            raw, member_scores = tuned.out_of_fold, {}
        if tuned:  # the served model before the hand labels, on what the run is measured on
            before = weak_only if gold else tuned.before
            member_scores["weak_labels_only"] = score(measure.y, before.argmax(axis=1), names)
        on = GOLD if gold else HAND_LABELS
        model, predicted = calibrate_on(model, raw, measure, config, config.end_model.served, on)
        scores = stages.evaluation(measure, predicted, names, member_scores,
                                   training.choice.gold_scores if gold else {})
        _log_scores(scores, names, on)
    else:
        model = _calibrate_without_gold(model, config, config.end_model.served)
    distributions = stages.label_distributions(training.soft_labels, measure, predicted, len(names))
    log_label_distribution(distributions, taxonomy.slugs, "labeling/label_distribution.png")
    say("logging and registering the model")
    registration = register(model, config, taxonomy, scores["end_model"].macro_f1 if measure else None, measure,
                            run_id, len(inputs.hand) if inputs.hand else 0)
    return registration, scores, len(training.frame)


def calibrate_on(model: ProbabilisticClassifier, raw: np.ndarray, measured: Gold, config: TrainConfig,
                 kinds: list[str], on: str) -> tuple[ProbabilisticClassifier, np.ndarray]:
    """Calibration stage on what the run is measured on (`on`: GOLD, or HAND_LABELS out of fold, whose
    probabilities are `raw`): the config's calibration (`stages.calibration_settings`), logged; too few hand labels:
    the map shipped for `kinds`. The model, and its predictions on `measured` (held out when calibrated)."""
    kind, offsets = stages.calibration_settings(config, on_hand_labels=on == HAND_LABELS)
    if kind == "none" and not offsets:
        mlflow.set_tag("calibration", "off")
        return model, raw.argmax(axis=1)
    if not stages.can_calibrate_on(measured, raw.shape[1]):
        return _calibrate_without_gold(model, config, kinds, "too few hand labels to calibrate on"), raw.argmax(axis=1)
    model, crossed = stages.calibrate_on_gold(model, raw, measured, kind, offsets)
    log_calibration(model, crossed, raw, measured, calibration_name(kind, offsets), on)
    say(f"confidence calibrated ({calibration_name(kind, offsets)}) on {MEASURED_ON[on]}: expected calibration error "
        f"{crossed.ece_before:.3f} -> {crossed.ece_after:.3f} (cross-fitted)")
    return model, crossed.calibrated.argmax(axis=1)


def _calibrate_without_gold(model: ProbabilisticClassifier, config: TrainConfig, kinds: list[str],
                            why: str = "no gold") -> ProbabilisticClassifier:
    """The map shipped for `kinds` on `model` (unless configured off), tagged and said."""
    model, done = stages.calibrate_without_gold(model, kinds, config.end_model.calibration_without_gold, why)
    if isinstance(model, CalibratedClassifier):
        mlflow.log_metrics(_calibration_numbers(model.calibrator))
    mlflow.set_tag("calibration", done)
    say(f"confidence calibration: {done}")
    return model


def log_hand_labels(tuned: stages.HandLabelled, hand: HandLabels, names: list[str]) -> None:
    """What the hand labels were worth, out of fold: the weak model on them, the fine-tuned one, and on the papers
    chosen at random (an unbiased sample of the pool) when there are enough of them."""
    y = tuned.labels.y
    metrics = {"hand_labels.count": len(y), "hand_labels.fine_tune_seconds": tuned.seconds}
    for name, probabilities in (("weak_labels_only", tuned.before), ("out_of_fold", tuned.out_of_fold)):
        result = score(y, probabilities.argmax(axis=1), names)
        metrics |= {f"hand_labels.{name}.accuracy": result.accuracy, f"hand_labels.{name}.macro_f1": result.macro_f1}
    random = (hand.frame["chosen_by"] == "random").to_numpy()
    if random.sum() >= MIN_RANDOM_LABELS:
        result = score(y[random], tuned.out_of_fold[random].argmax(axis=1), names)
        metrics |= {"hand_labels.random.count": int(random.sum()), "hand_labels.random.accuracy": result.accuracy}
    mlflow.log_metrics(metrics)
    say(f"{len(y)} hand labels: accuracy on them {metrics['hand_labels.weak_labels_only.accuracy']:.3f} with the weak "
        f"labels only, {metrics['hand_labels.out_of_fold.accuracy']:.3f} fine-tuned on them (out of fold)")


def register(model: ProbabilisticClassifier, config: TrainConfig, taxonomy: Taxonomy, macro_f1: float | None,
             gold: Gold | None, run_id: str, hand_labels: int = 0) -> Registration:
    """Registration stage: log `model` as the run's pyfunc model, register it and move the champion alias by the
    champion rule (on the macro-F1 on `gold`: the gold file, else the hand labels); tag the run with the version
    and the version with the number of hand labels it was fine-tuned on."""
    info = log_pyfunc_model(model, taxonomy.slugs, taxonomy.names, name="model", taxonomy=taxonomy.name)
    registration = register_and_promote(
        info.model_uri, config.mlflow.registered_model, config.mlflow.champion_alias, macro_f1,
        tags={"run_id": run_id, END_MODEL_TAG: config.end_model.name, HAND_LABELS_TAG: str(hand_labels)},
        taxonomy=taxonomy.name,
        taxonomy_file=config.taxonomy, gold_fingerprint=gold.fingerprint() if gold else None)
    mlflow.set_tags({"registered_model.version": registration.version,
                     "registered_model.promoted": str(registration.promoted)})
    return registration


def _log_epoch(row: dict) -> None:
    mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))


def _log_dataset(frame: pd.DataFrame, source: str, name: str, context: str, targets: str | None = None) -> None:
    with warnings.catch_warnings():  # MLflow registers its local-file source twice and warns it is ambiguous
        warnings.simplefilter("ignore", UserWarning)
        dataset = mlflow.data.from_pandas(frame, source=mask_credentials(source), name=name, targets=targets)
    mlflow.log_input(dataset, context=context)
    mlflow.log_params({f"data.{name}.papers": len(frame), f"data.{name}.fingerprint": fingerprint(frame)})


def _log_inputs(inputs: Inputs, config: TrainConfig) -> None:
    """The papers read (count and fingerprint), the training sample, gold and the hand labels as MLflow datasets."""
    columns = ["id", "title", "abstract"]
    mlflow.log_param("data.read.fingerprint", inputs.read_fingerprint)
    mlflow.log_metrics({"data.papers_read": inputs.n_read, "data.papers_distinct_texts": inputs.n_distinct_texts,
                        "data.papers_sampled": len(inputs.frame),
                        "labels.keyword_coverage": inputs.keyword_coverage})
    _log_dataset(inputs.frame[columns], ",".join(config.dumps)[:1000], "train", "training")
    if inputs.gold is not None:
        _log_dataset(inputs.gold.frame[[*columns, "label"]], config.gold, "gold", "evaluation", targets="label")
    if inputs.hand is not None:
        log_hand_labels_input(inputs.hand, inputs.taxonomy, config)


def log_hand_labels_input(hand: HandLabels, taxonomy: Taxonomy, config: TrainConfig) -> None:
    """The hand-labelled papers and their areas as the run's `hand_labels` dataset (count and fingerprint too)."""
    labelled = hand.frame[["id", "title", "abstract"]].assign(label=[taxonomy.names[k] for k in hand.y])
    _log_dataset(labelled, ",".join(config.hand_labels.sheets)[:1000], "hand_labels", "training", targets="label")


def _log_labels(training: Labels, all_votes: stages.Votes, gold: Gold | None) -> None:
    """Coverage, the labeller chosen and the LF tables (on the training papers, and on gold with its accuracies)."""
    keep = training.covered
    mlflow.log_metrics({"labels.coverage": float(keep.mean()), "labels.papers_trained": int(keep.sum()),
                        "labels.papers_dropped_all_abstain": int((~keep).sum()),
                        "label_model.fit_rows": training.choice.label_model_rows})
    mlflow.set_tag("label_model.selected", training.choice.labeler.NAME)
    log_frame(lf_table(all_votes.train, all_votes.lfs).round(4), "labeling/lf_table.csv")
    if gold:
        log_frame(lf_table(all_votes.gold, all_votes.lfs, gold.y).round(4), "labeling/lf_table_gold.csv")


def log_calibration(model: CalibratedClassifier, crossed: CrossFitted, raw: np.ndarray, gold: Gold, name: str,
                    on: str = GOLD) -> None:
    """A calibration fitted on gold (`on`: GOLD, or HAND_LABELS): tag, cross-fitted ECE before and after (metrics
    `<on>.end_model.ece*`), fitted numbers, reliability diagram."""
    mlflow.set_tag("calibration", f"{name} fitted on {MEASURED_ON[on]}")
    mlflow.log_metrics({f"{on}.end_model.ece_uncalibrated": crossed.ece_before,
                        f"{on}.end_model.ece": crossed.ece_after} | _calibration_numbers(model.calibrator))
    figure = reliability_diagram({"uncalibrated": (raw, gold.y),
                                  "calibrated (cross-fitted halves)": (crossed.calibrated, gold.y)})
    log_figure(figure, "evaluation/reliability_diagram.png")


def _calibration_numbers(calibrator: Calibrator) -> dict[str, float]:
    """A calibrator's fitted numbers as run metrics (`calibration.temperature`, ...; an isotonic map's knots: no)."""
    return {f"calibration.{key}": value for key, value in calibrator.state().items() if isinstance(value, float)}


def _log_scores(scores: dict[str, Scores], names: list[str], on: str) -> None:
    for predictor, result in scores.items():
        mlflow.log_metrics({f"{on}.{predictor}.{key}": value for key, value in result.summary().items()})
    report = pd.concat({predictor: result.per_area for predictor, result in scores.items()}, axis=1)
    log_frame(report.round(4), "evaluation/per_area_report.csv")
    log_confusion_matrix(scores["end_model"].confusion, names, f"End model on {MEASURED_ON[on]}",
                         "evaluation/confusion_matrix.png")


def print_summary(scores: dict[str, Scores], on: str = GOLD) -> None:
    """The closing table: one row per predictor, on gold or (`on`: HAND_LABELS) the hand labels."""
    if not scores:
        say("no gold given: nothing to score")
        return
    say(f"on {MEASURED_ON[on]}, {next(iter(scores.values())).n} papers:")
    width = max(len(predictor) for predictor in ["predictor", *scores])
    say(f"{'predictor':<{width}} {'accuracy':>9} {'macro-F1':>9} {'coverage':>9}")
    for predictor, result in scores.items():
        say(f"{predictor:<{width}} {result.accuracy:>9.4f} {result.macro_f1:>9.4f} {result.coverage:>9.4f}")


def _command_path(path: Path) -> str:
    """`path` as typed in a shell here: relative when inside the working directory, else absolute; shell-quoted."""
    absolute = path.absolute()
    return shlex.quote(str(absolute.relative_to(Path.cwd())) if absolute.is_relative_to(Path.cwd()) else str(absolute))


def print_next_steps(result: TrainResult, config: TrainConfig) -> None:
    """What the user does next, printed at the end of `make train`: commands that work as printed."""
    reg = result.registration
    store = resolve_tracking_uri(config.mlflow.tracking_uri, REPO)
    shown = mask_credentials(store)
    masked = shown != store  # a password is never printed: the commands then rely on the variable being set
    environment = "" if store == repo_store_uri() or masked else f"MLFLOW_TRACKING_URI={shlex.quote(store)} "
    make = environment + ("make" if Path.cwd() == REPO else f"make -C {shlex.quote(str(REPO))}")
    predict = f"{environment}{_command_path(Path(sys.executable))} {_command_path(REPO / 'predict.py')}"
    sample = _command_path(Path(config.dumps[0]))
    lines = [
        f"run id:        {result.run_id} (experiment {result.experiment_id})",
        *reg.summary_lines(),
        f"store:         {shown}",
        f"papers:        {result.n_papers} read, {result.n_trained} trained on, in {result.seconds:.0f} s",
        "next (with MLFLOW_TRACKING_URI set to the store above, its credentials for ***):" if masked else "next:",
        f"  {make} ui       # compare runs at http://127.0.0.1:5000",
        f"  {predict} --input {sample} --output out/predictions.jsonl",
        f"  {make} serve    # REST: POST http://127.0.0.1:5001/invocations",
    ]
    say("\n".join(lines))
