"""The training job: dumps -> papers -> votes -> probabilistic labels -> end model -> gold scores -> MLflow."""

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

from labeling import Taxonomy, WeakLabeler, apply_lfs, covered, keyword_lfs, lf_table, load_taxonomy, majority_areas
from labeling.label_model import MIN_LABEL_MODEL_LFS
from models import AveragedClassifier, ProbabilisticClassifier, build_end_model, log_pyfunc_model
from models.evaluation import Scores, score
from paper_areas.core import UserError
from paper_areas.pipeline.calibrate import (
    calibrate_without_gold,
    calibration_name,
    check_calibration_gold,
    fit_calibration,
)
from paper_areas.pipeline.config import REPO, TrainConfig
from paper_areas.pipeline.corpus import read_corpus
from paper_areas.pipeline.data import DataError, Gold, fingerprint, read_gold
from paper_areas.pipeline.sampling import stratified_sample
from paper_areas.pipeline.weak_labels import Votes, add_embedding_lfs, fit_label_model
from paper_areas.tracking import (
    Registration,
    connect,
    git_commit,
    log_confusion_matrix,
    log_frame,
    log_label_distribution,
    mask_credentials,
    register_and_promote,
    repo_store_uri,
    resolve_tracking_uri,
    tracked_run,
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


def end_model_name(config: TrainConfig) -> str:
    """`minilm`, or for an average its kinds joined: `minilm+tfidf`."""
    return "+".join(config.end_model.kinds)


def _log_dataset(frame: pd.DataFrame, source: str, name: str, context: str, targets: str | None = None) -> None:
    with warnings.catch_warnings():  # MLflow registers its local-file source twice and warns it is ambiguous
        warnings.simplefilter("ignore", UserWarning)
        dataset = mlflow.data.from_pandas(frame, source=mask_credentials(source), name=name, targets=targets)
    mlflow.log_input(dataset, context=context)
    mlflow.log_params({f"data.{name}.papers": len(frame), f"data.{name}.fingerprint": fingerprint(frame)})


def _log_inputs(inputs: _Inputs, config: TrainConfig) -> None:
    """The papers read (count and fingerprint), the training sample and gold as MLflow datasets."""
    columns = ["id", "title", "abstract"]
    mlflow.log_param("data.read.fingerprint", inputs.read_fingerprint)
    mlflow.log_metrics({"data.papers_read": inputs.n_read, "data.papers_distinct_texts": inputs.n_distinct_texts,
                        "data.papers_sampled": len(inputs.frame),
                        "labels.keyword_coverage": inputs.keyword_coverage})
    gold = inputs.gold
    _log_dataset(inputs.frame[columns], ",".join(config.dumps)[:1000], "train", "training")
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
    width = max(len(predictor) for predictor in ["predictor", *scores])
    _say(f"{'predictor':<{width}} {'accuracy':>9} {'macro-F1':>9} {'coverage':>9}")
    for predictor, result in scores.items():
        _say(f"{predictor:<{width}} {result.accuracy:>9.4f} {result.macro_f1:>9.4f} {result.coverage:>9.4f}")


@dataclass
class _Inputs:
    """What a run trains on, read and checked before the run starts (bad input leaves no FAILED run): the papers
    of the training sample (the papers read with distinct abstracts, up to `end_model.max_papers`) with their keyword
    votes, and gold."""

    taxonomy: Taxonomy
    lfs: list
    frame: pd.DataFrame
    gold: Gold | None
    votes: np.ndarray
    gold_votes: np.ndarray | None
    n_read: int
    n_distinct_texts: int  # papers read less those repeating an earlier paper's abstract
    read_fingerprint: str
    keyword_coverage: float  # of all papers read


def _read_inputs(config: TrainConfig) -> _Inputs:
    taxonomy = load_taxonomy(config.taxonomy)
    lfs = keyword_lfs(taxonomy)
    gold = read_gold(config.gold, taxonomy) if config.gold else None
    if gold and (config.end_model.calibration != "none" or config.end_model.class_offsets):
        check_calibration_gold(gold, len(taxonomy.areas), config.gold, "to score on it without calibrating: "
                               "end_model.calibration: none and end_model.class_offsets: false")
    _say(f"reading {len(config.dumps)} dump(s), applying {len(lfs)} labelling functions ({config.engine})")
    corpus = read_corpus(config.dumps, lfs, config.engine, config.spark_master)
    try:
        print(corpus.summary, file=sys.stderr)
        keyword_covered = covered(corpus.votes)
        if not keyword_covered.any():
            raise DataError(f"no labelling function of taxonomy {taxonomy.name!r} votes on any of the {len(corpus)} "
                            f"papers in {', '.join(config.dumps)}: nothing to train on (see `train.py lfs`)")
        distinct = corpus.distinct_texts()
        if len(distinct) < len(corpus):
            _say(f"left out {len(corpus) - len(distinct)} papers whose abstract an earlier paper has")
        strata = majority_areas(corpus.votes[distinct], len(taxonomy.areas))
        rows = distinct[stratified_sample(strata, config.end_model.max_papers, config.end_model.seed)]
        if len(rows) < len(distinct):
            _say(f"sampled {len(rows)} of the {len(distinct)} papers (end_model.max_papers), stratified by "
                 "majority-vote area")
        frame, votes = corpus.papers(rows), corpus.votes[rows].astype(np.int64)
        return _Inputs(taxonomy, lfs, frame, gold, votes, apply_lfs(lfs, gold.frame) if gold else None,
                       len(corpus), len(distinct), corpus.fingerprint, float(keyword_covered.mean()))
    finally:
        corpus.close()


def probabilistic_labels(labeler: WeakLabeler, L: np.ndarray, config: TrainConfig) -> np.ndarray:
    """The selected predictor's (N, K) labels for the votes `L`, computed on Spark partitions with engine spark."""
    if config.engine == "spark":
        from labeling.spark import predict_proba_spark  # Spark is an optional extra

        return predict_proba_spark(labeler, L, config.spark_master)
    return labeler.predict_proba(L)


def train(config: TrainConfig) -> TrainResult:
    """Check the inputs, then run the job inside one MLflow run.

    Input problems (no papers, no votes, bad gold, bad store URI) raise before the run starts. An exception inside
    the run marks it FAILED and leaves the champion; a UserError's message is kept as the run's `error` tag.
    """
    started = time.perf_counter()
    resolve_tracking_uri(config.mlflow.tracking_uri, REPO)  # a bad URI fails before the inputs are read
    inputs = _read_inputs(config)
    experiment_id = connect(config.mlflow.tracking_uri, config.mlflow.artifact_root, config.mlflow.experiment, REPO)
    run_name = f"{end_model_name(config)}-{inputs.taxonomy.name}"
    with tracked_run(experiment_id, run_name) as run:
        try:
            registration, scores, n_trained = _train_in_run(config, inputs, run.info.run_id)
        except UserError as error:
            mlflow.set_tag("error", str(error))
            raise
        seconds = time.perf_counter() - started
        mlflow.log_metric("run.seconds", seconds)
    return TrainResult(
        run_id=run.info.run_id,
        experiment_id=experiment_id,
        registration=registration,
        scores=scores,
        n_papers=inputs.n_read,
        n_trained=n_trained,
        seconds=seconds,
    )


def _train_in_run(config: TrainConfig, inputs: _Inputs, run_id: str) -> tuple[Registration, dict[str, Scores], int]:
    """Label, train, score, log and register inside the active run; the registration, gold scores, papers trained."""
    taxonomy, lfs, frame, gold, votes, gold_votes = (
        inputs.taxonomy, inputs.lfs, inputs.frame, inputs.gold, inputs.votes, inputs.gold_votes)
    names = taxonomy.names
    mlflow.set_tags({"git_commit": git_commit(REPO), "end_model": end_model_name(config), "taxonomy": taxonomy.name})
    mlflow.log_params({key: mask_credentials(value) if isinstance(value, str) else value
                       for key, value in config.flat().items()})
    _log_inputs(inputs, config)
    mlflow.log_artifact(config.taxonomy, "taxonomy")
    all_votes = Votes(list(lfs), votes, gold_votes)
    if config.label_model.embedding_lfs and taxonomy.embedding_lfs:
        kinds = ", ".join(spec.kind for spec in taxonomy.embedding_lfs)
        _say(f"embedding LFs ({kinds}): embedding {len(frame)} papers")
        all_votes = add_embedding_lfs(taxonomy, all_votes, frame, gold.frame if gold else None, config.embeddings)
    n_lfs = len(all_votes.lfs)
    _say(f"fitting the label model on {n_lfs} LFs" if n_lfs >= MIN_LABEL_MODEL_LFS else
         f"majority vote over {n_lfs} LFs (the label model needs at least {MIN_LABEL_MODEL_LFS})")
    labeler = fit_label_model(all_votes, config.label_model, names, gold.y if gold else None)
    lfs, votes, gold_votes = all_votes.lfs, all_votes.train, all_votes.gold
    keep = covered(votes)
    soft_labels = probabilistic_labels(labeler, votes[keep], config)
    train_frame = frame[keep].reset_index(drop=True)
    mlflow.log_metrics({
        "labels.coverage": float(keep.mean()),
        "labels.papers_trained": int(keep.sum()),
        "labels.papers_dropped_all_abstain": int((~keep).sum()),
        "label_model.fit_rows": labeler.fit_rows_,
    })
    mlflow.set_tag("label_model.selected", labeler.selected_)
    log_frame(lf_table(votes, lfs).round(4), "labeling/lf_table.csv")
    if gold:
        log_frame(lf_table(gold_votes, lfs, gold.y).round(4), "labeling/lf_table_gold.csv")
    _say(f"training the {end_model_name(config)} end model on {len(train_frame)} papers "
         f"({int((~keep).sum())} with no votes dropped)")

    def log_epoch(row: dict) -> None:
        mlflow.log_metrics({k: v for k, v in row.items() if k != "epoch"}, step=int(row["epoch"]))

    model = build_end_model(config.end_model.kinds, config.flat())
    model.fit(train_frame, soft_labels, eval_set=(gold.frame, gold.y) if gold else None, on_epoch=log_epoch)
    mlflow.set_tag("end_model.best_epoch", str(model.best_epoch_))
    scores: dict[str, Scores] = {}
    distributions = {"weak labels": np.bincount(soft_labels.argmax(1), minlength=len(names)) / len(soft_labels)}
    if gold:
        raw = _gold_probabilities(model, config, gold, names, scores)
        predicted = raw.argmax(axis=1)
        kind, offsets = config.end_model.calibration, config.end_model.class_offsets
        if kind != "none" or offsets:
            crossed = fit_calibration(model, raw, gold, kind, offsets)
            predicted = crossed.calibrated.argmax(axis=1)  # held out: offsets fitted on gold can move the top area
            _say(f"confidence calibrated ({calibration_name(kind, offsets)}): expected calibration error on gold "
                 f"{crossed.ece_before:.3f} -> {crossed.ece_after:.3f} (cross-fitted)")
        else:
            mlflow.set_tag("calibration", "off")
        scores = {"end_model": score(gold.y, predicted, names), **scores, **labeler.gold_scores_}
        _log_scores(scores, names)
        distributions["gold"] = np.bincount(gold.y, minlength=len(names)) / len(gold.y)
        distributions["end model on gold"] = np.bincount(predicted, minlength=len(names)) / len(predicted)
    else:
        done = calibrate_without_gold(model, config.end_model.kinds, config.end_model.calibration_without_gold)
        _say(f"confidence calibration: {done}")
    log_label_distribution(distributions, taxonomy.slugs, "labeling/label_distribution.png")

    _say("logging and registering the model")
    info = log_pyfunc_model(model, taxonomy.slugs, names, name="model", taxonomy=taxonomy.name)
    registration = register_and_promote(
        info.model_uri, config.mlflow.registered_model, config.mlflow.champion_alias,
        scores["end_model"].macro_f1 if gold else None,
        tags={"run_id": run_id, "end_model": end_model_name(config)},
        taxonomy=taxonomy.name, taxonomy_file=config.taxonomy,
        gold_fingerprint=gold.fingerprint() if gold else None,
    )
    mlflow.set_tags({"registered_model.version": registration.version,
                     "registered_model.promoted": str(registration.promoted)})
    return registration, scores, len(train_frame)


def _gold_probabilities(model: ProbabilisticClassifier, config: TrainConfig, gold: Gold, names: list[str],
                        scores: dict[str, Scores]) -> np.ndarray:
    """The uncalibrated end model's probabilities on gold; an average's members are scored on the way (into
    `scores` as `end_model.<kind>`), from the same predictions."""
    if not isinstance(model, AveragedClassifier):
        return model.predict_proba(gold.frame)
    members = model.member_probabilities(gold.frame)
    for kind, probabilities in zip(config.end_model.kinds, members, strict=True):
        scores[f"end_model.{kind}"] = score(gold.y, probabilities.argmax(axis=1), names)
    return np.mean(members, axis=0)


def _command_path(path: Path) -> str:
    """`path` as typed in a shell from the working directory: relative when inside it, else absolute; quoted when it
    holds characters the shell would read (`papers[2024].txt`, spaces)."""
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
    _say("\n".join(lines))
