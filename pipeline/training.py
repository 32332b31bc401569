"""The training job: dumps -> papers -> votes -> probabilistic labels -> end model -> gold scores -> MLflow."""

from __future__ import annotations

import sys
import time
import warnings
from dataclasses import dataclass

import mlflow
import numpy as np
import pandas as pd

from evaluation import Scores, score
from labeling import WeakLabeler, apply_lfs, covered, keyword_lfs, lf_table, load_taxonomy
from models import MiniLMClassifier, TfidfClassifier, log_pyfunc_model
from pipeline.config import REPO, EndModelConfig, TrainConfig
from pipeline.data import Gold, fingerprint, read_gold, read_papers
from tracking import (
    Registration,
    connect,
    git_commit,
    log_confusion_matrix,
    log_frame,
    log_label_distribution,
    register_and_promote,
)


@dataclass
class TrainResult:
    run_id: str
    experiment_id: str
    registration: Registration
    scores: dict[str, Scores]  # predictor -> gold scores (empty without gold)
    n_papers: int
    n_trained: int
    seconds: float


_STARTED = time.perf_counter()


def _say(message: str) -> None:
    print(f"[{time.perf_counter() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


def build_end_model(config: EndModelConfig) -> MiniLMClassifier | TfidfClassifier:
    """The end model named by the config."""
    if config.kind == "tfidf":
        return TfidfClassifier(seed=config.seed)
    return MiniLMClassifier(
        model_path=config.model_path,
        max_length=config.max_length,
        epochs=config.epochs,
        batch_size=config.batch_size,
        learning_rate=config.learning_rate,
        seed=config.seed,
    )


def _apply(config: TrainConfig, lfs: list, frame: pd.DataFrame) -> np.ndarray:
    if config.engine == "spark":
        from labeling.spark import apply_lfs_spark  # Spark is an optional extra

        return apply_lfs_spark(lfs, frame)
    return apply_lfs(lfs, frame)


def _log_dataset(frame: pd.DataFrame, source: str, name: str, context: str, targets: str | None = None) -> None:
    with warnings.catch_warnings():  # MLflow registers its local-file source twice and warns it is ambiguous
        warnings.simplefilter("ignore", UserWarning)
        dataset = mlflow.data.from_pandas(frame, source=source, name=name, targets=targets)
    mlflow.log_input(dataset, context=context)
    mlflow.log_params({f"data.{name}.papers": len(frame), f"data.{name}.fingerprint": fingerprint(frame)})


def _log_inputs(frame: pd.DataFrame, gold: Gold | None, config: TrainConfig) -> None:
    columns = ["id", "title", "abstract"]
    _log_dataset(frame[columns], ",".join(config.dumps)[:1000], "train", "training")
    if gold is not None:
        _log_dataset(gold.frame[[*columns, "label"]], config.gold, "gold", "evaluation", targets="label")


def _log_scores(scores: dict[str, Scores], names: list[str]) -> None:
    for predictor, result in scores.items():
        mlflow.log_metrics({f"gold.{predictor}.{key}": value for key, value in result.summary().items()})
    report = pd.concat({predictor: result.per_area for predictor, result in scores.items()}, axis=1)
    log_frame(report.round(4), "evaluation/per_area_report.csv")
    end = scores["end_model"]
    log_confusion_matrix(end.confusion, names, "End model on gold", "evaluation/confusion_matrix.png")


def print_summary(scores: dict[str, Scores]) -> None:
    """The closing table: one row per predictor."""
    if not scores:
        _say("no gold given: nothing to score")
        return
    _say(f"{'predictor':<15} {'accuracy':>9} {'macro-F1':>9} {'coverage':>9}")
    for predictor, result in scores.items():
        _say(f"{predictor:<15} {result.accuracy:>9.4f} {result.macro_f1:>9.4f} {result.coverage:>9.4f}")


def train(config: TrainConfig) -> TrainResult:
    """Run the whole job inside one MLflow run; an exception marks the run FAILED and leaves the champion."""
    started = time.perf_counter()
    experiment_id = connect(config.mlflow.tracking_uri, config.mlflow.artifact_root, config.mlflow.experiment, REPO)
    taxonomy = load_taxonomy(config.taxonomy)
    lfs = keyword_lfs(taxonomy)
    names = taxonomy.names
    _say(f"reading {len(config.dumps)} dump(s)")
    frame = read_papers(config.dumps)
    gold = read_gold(config.gold, taxonomy) if config.gold else None

    with mlflow.start_run(experiment_id=experiment_id) as run:
        mlflow.set_tags({"git_commit": git_commit(REPO), "end_model": config.end_model.kind})
        mlflow.log_params(config.flat())
        _log_inputs(frame, gold, config)
        mlflow.log_artifact(config.taxonomy, "taxonomy")
        _say("inputs logged")

        _say(f"applying {len(lfs)} labelling functions to {len(frame)} papers ({config.engine})")
        votes = _apply(config, lfs, frame)
        gold_votes = apply_lfs(lfs, gold.frame) if gold else None
        _say("fitting the label model")
        labeler = WeakLabeler(
            cardinality=len(names),
            epochs=config.label_model.epochs,
            lr=config.label_model.learning_rate,
            l2=config.label_model.l2,
            seed=config.label_model.seed,
            area_names=names,
        ).fit(votes, gold_votes, gold.y if gold else None)
        keep = covered(votes)
        soft_labels = labeler.predict_proba(votes[keep])
        train_frame = frame[keep].reset_index(drop=True)
        mlflow.log_metrics({
            "labels.coverage": float(keep.mean()) if len(keep) else 0.0,
            "labels.papers_trained": int(keep.sum()),
            "labels.papers_dropped_all_abstain": int((~keep).sum()),
        })
        mlflow.set_tag("label_model.selected", labeler.selected_)
        log_frame(lf_table(votes, lfs).round(4), "labeling/lf_table.csv")
        if gold:
            log_frame(lf_table(gold_votes, lfs, gold.y).round(4), "labeling/lf_table_gold.csv")
        if not len(train_frame):
            raise RuntimeError("every labelling function abstained on every paper: nothing to train on")
        _say(f"training the {config.end_model.kind} end model on {len(train_frame)} papers "
             f"({int((~keep).sum())} with no votes dropped)")

        def log_epoch(row: dict) -> None:
            mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))

        model = build_end_model(config.end_model)
        model.fit(train_frame, soft_labels, eval_set=(gold.frame, gold.y) if gold else None, on_epoch=log_epoch)

        scores: dict[str, Scores] = {}
        distributions = {"weak labels": np.bincount(soft_labels.argmax(1), minlength=len(names)) / len(soft_labels)}
        if gold:
            predicted = model.predict(gold.frame)
            scores = {"end_model": score(gold.y, predicted, names), **labeler.gold_scores_}
            _log_scores(scores, names)
            distributions["gold"] = np.bincount(gold.y, minlength=len(names)) / len(gold.y)
            distributions["end model on gold"] = np.bincount(predicted, minlength=len(names)) / len(predicted)
        log_label_distribution(distributions, taxonomy.slugs, "labeling/label_distribution.png")

        _say("logging and registering the model")
        info = log_pyfunc_model(model, taxonomy.slugs, names, name="model")
        gold_f1 = scores["end_model"].macro_f1 if gold else None
        registration = register_and_promote(
            info.model_uri, config.mlflow.registered_model, config.mlflow.champion_alias, gold_f1,
            tags={"run_id": run.info.run_id, "end_model": config.end_model.kind},
        )
        mlflow.set_tags({"registered_model.version": registration.version,
                         "registered_model.promoted": str(registration.promoted)})
        seconds = time.perf_counter() - started
        mlflow.log_metric("run.seconds", seconds)

    return TrainResult(
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        registration=registration,
        scores=scores,
        n_papers=len(frame),
        n_trained=len(train_frame),
        seconds=seconds,
    )


def print_next_steps(result: TrainResult, config: TrainConfig) -> None:
    """What the user does next, printed at the end of `make train`."""
    reg = result.registration
    champion = f"{reg.alias} -> v{reg.champion_version}"
    lines = [
        f"run id:        {result.run_id} (experiment {result.experiment_id})",
        f"model version: {reg.name} v{reg.version} ({'promoted' if reg.promoted else 'not promoted'}: {reg.reason})",
        f"alias:         {champion}",
        f"papers:        {result.n_papers} read, {result.n_trained} trained on, in {result.seconds:.0f} s",
        "next:",
        "  make ui                                   # compare runs at http://127.0.0.1:5000",
        "  python predict.py --input samples/001_48743c56da8dbc52.txt --output out/predictions.jsonl",
        "  make serve                                # REST: POST http://127.0.0.1:5001/invocations",
    ]
    _say("\n".join(lines))

