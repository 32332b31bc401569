"""The training job's stages as plain functions (no MLflow): read, sample, votes, labels, end model, calibration.
`paper_areas.pipeline.training` runs them inside one tracked run and logs what they return; benches call them too."""

from __future__ import annotations

import copy
import functools
import math
import sys
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd

from labeling import Taxonomy, apply_lfs, covered, keyword_lfs, load_taxonomy, majority_areas
from labeling.label_model import MIN_LABEL_MODEL_LFS
from models import (
    AveragedClassifier,
    CalibratedClassifier,
    CrossFitted,
    FineTuning,
    ProbabilisticClassifier,
    TaughtClassifier,
    averaged,
    build_end_model,
    cross_fitted_ece,
    new_calibrator,
    no_gold_map,
)
from models.base import EpochCallback
from models.evaluation import Scores, score
from paper_areas.hand_labels import HandLabels
from paper_areas.hand_labels import read_hand_labels as read_sheets
from paper_areas.pipeline.config import EmbeddingsConfig, TrainConfig
from paper_areas.pipeline.corpus import Corpus, read_corpus
from paper_areas.pipeline.data import DataError, Gold, GoldError, read_gold
from paper_areas.pipeline.sampling import stratified_sample
from paper_areas.pipeline.weak_labels import LabelerChoice, Votes, add_embedding_lfs, choose_labeler

_STARTED = time.perf_counter()

# Hand labels are split into folds and halves by another hash than gold's: chosen from one half of a dev set, they
# would all fall in one half of gold's split.
HAND_LABEL_SALT = "hand-labels:"
MIN_GOLD_PER_HALF = 10  # the ECE is cross-fitted: each half of gold fits the calibration the other half measures
# Gold must have papers of at least this share of the taxonomy's areas: a calibration fitted on a few areas is theirs,
# not the model's, and per-area offsets push down every area gold has no paper of (fitted on 31 papers of one area,
# they sent 89.5% of all papers to it).
MIN_GOLD_AREA_SHARE = 0.5


def say(message: str) -> None:
    """A progress line on stderr, stamped with the seconds since the job started."""
    print(f"[{time.perf_counter() - _STARTED:6.1f}s] {message}", file=sys.stderr, flush=True)


@dataclass
class Inputs:
    """What a run trains on, read and checked before the run starts (bad input leaves no FAILED run)."""

    taxonomy: Taxonomy
    votes: Votes  # the keyword LFs and their votes on the sample and on gold
    frame: pd.DataFrame  # the training sample: distinct abstracts, at most `end_model.max_papers`
    gold: Gold | None
    n_read: int
    n_distinct_texts: int  # papers read less those repeating an earlier paper's abstract
    read_fingerprint: str
    keyword_coverage: float  # of all papers read
    hand: HandLabels | None = None  # the papers labelled by hand (`hand_labels.sheets`)


def read(config: TrainConfig) -> Inputs:
    """Read stage: the taxonomy, gold (checked for the configured calibration), the sampled papers and their votes."""
    taxonomy = load_taxonomy(config.taxonomy)
    lfs = keyword_lfs(taxonomy)
    gold = read_gold(config.gold, taxonomy) if config.gold else None
    hand = read_hand_labels(config, taxonomy)
    if gold and (config.end_model.calibration != "none" or config.end_model.class_offsets):
        check_calibration_gold(gold, len(taxonomy.areas), config.gold, "to score on it without calibrating: "
                               "end_model.calibration: none and end_model.class_offsets: false")
    say(f"reading {len(config.dumps)} dump(s), applying {len(lfs)} labelling functions ({config.engine})")
    corpus = read_corpus(config.dumps, lfs, config.engine, config.spark_master)
    try:
        print(corpus.summary, file=sys.stderr)
        keyword_covered = covered(corpus.votes)
        if not keyword_covered.any():
            raise DataError(f"no labelling function of taxonomy {taxonomy.name!r} votes on any of the {len(corpus)} "
                            f"papers in {', '.join(config.dumps)}: nothing to train on (see `train.py lfs`)")
        rows, n_distinct = sample(corpus, len(taxonomy.areas), config.end_model.max_papers, config.end_model.seed)
        votes = Votes(list(lfs), corpus.votes[rows].astype(np.int64), apply_lfs(lfs, gold.frame) if gold else None)
        return Inputs(taxonomy, votes, corpus.papers(rows), gold, len(corpus), n_distinct, corpus.fingerprint,
                      float(keyword_covered.mean()), hand)
    finally:
        corpus.close()


def sample(corpus: Corpus, n_areas: int, max_papers: int, seed: int) -> tuple[np.ndarray, int]:
    """Sample stage: the rows trained on (distinct abstracts, stratified by majority-vote area), how many distinct."""
    distinct = corpus.distinct_texts()
    if len(distinct) < len(corpus):
        say(f"left out {len(corpus) - len(distinct)} papers whose abstract an earlier paper has")
    rows = distinct[stratified_sample(majority_areas(corpus.votes[distinct], n_areas), max_papers, seed)]
    if len(rows) < len(distinct):
        say(f"sampled {len(rows)} of the {len(distinct)} papers (end_model.max_papers), stratified by "
            "majority-vote area")
    return rows, len(distinct)


def votes(inputs: Inputs, use_embedding_lfs: bool, embeddings: EmbeddingsConfig) -> Votes:
    """Votes stage: the keyword votes, and the votes of the taxonomy's embedding LFs if any and `use_embedding_lfs`."""
    taxonomy = inputs.taxonomy
    if not (use_embedding_lfs and taxonomy.embedding_lfs):
        return inputs.votes
    say(f"embedding LFs ({', '.join(spec.kind for spec in taxonomy.embedding_lfs)}): embedding {len(inputs.frame)} "
        "papers")
    return add_embedding_lfs(taxonomy, inputs.votes, inputs.frame, inputs.gold.frame if inputs.gold else None,
                             embeddings)


@dataclass
class Labels:
    """The labeller chosen and the end model's training set: the papers with votes and their (N, K) labels."""

    choice: LabelerChoice
    covered: np.ndarray  # mask over the sample: papers with at least one vote
    frame: pd.DataFrame
    soft_labels: np.ndarray


def labels(all_votes: Votes, frame: pd.DataFrame, config: TrainConfig, names: list[str], gold: Gold | None) -> Labels:
    """Labels stage: the labeller chosen and its probabilistic labels for the papers with votes (on Spark or here)."""
    n_lfs = len(all_votes.lfs)
    say(f"fitting the label model on {n_lfs} LFs" if n_lfs >= MIN_LABEL_MODEL_LFS else
        f"majority vote over {n_lfs} LFs (the label model needs at least {MIN_LABEL_MODEL_LFS})")
    choice = choose_labeler(all_votes, config.label_model, names, gold.y if gold else None)
    keep = covered(all_votes.train)
    if config.engine == "spark":
        from labeling.spark import predict_proba_spark  # Spark is an optional extra

        soft_labels = predict_proba_spark(choice.labeler, all_votes.train[keep], config.spark_master)
    else:
        soft_labels = choice.labeler.predict_proba(all_votes.train[keep])
    return Labels(choice, keep, frame[keep].reset_index(drop=True), soft_labels)


def end_model(config: TrainConfig, training: Labels, gold: Gold | None,
              on_epoch: EpochCallback | None = None) -> ProbabilisticClassifier:
    """End model stage: the end model (or average) fitted on the labels; with gold, the best epoch on it is kept."""
    say(f"training the {'+'.join(config.end_model.kinds)} end model on {len(training.frame)} papers "
        f"({int((~training.covered).sum())} with no votes dropped)")
    model = build_end_model(config.end_model.kinds, config.flat())
    return model.fit(training.frame, training.soft_labels, eval_set=(gold.frame, gold.y) if gold else None,
                     on_epoch=on_epoch)


def with_teacher(model: ProbabilisticClassifier, taxonomy: Taxonomy, choice: LabelerChoice, n_votes: int,
                 weight: float) -> ProbabilisticClassifier:
    """Teacher stage: the end model served with the chosen labeller on the keyword votes, averaged in with `weight`
    (0: the end model alone)."""
    return TaughtClassifier(model, taxonomy, choice.labeler, n_votes, weight) if weight > 0 else model


@dataclass
class HandLabelled:
    """The served model fine-tuned on the hand labels, and what it was worth: the served probabilities of the
    hand-labelled papers before fine-tuning and out of fold (each paper by a copy fine-tuned on the other fold)."""

    model: ProbabilisticClassifier
    labels: Gold  # the hand-labelled papers and their areas, shaped as gold (they score and calibrate like it)
    before: np.ndarray
    out_of_fold: np.ndarray
    seconds: float


def read_hand_labels(config: TrainConfig, taxonomy: Taxonomy) -> HandLabels | None:
    """The labelled papers of the config's `hand_labels.sheets` (None: no sheet); a sheet without one raises."""
    if not config.hand_labels.sheets:
        return None
    hand = read_sheets(config.hand_labels.sheets, taxonomy)
    if not len(hand):
        raise DataError(f"no labelled paper in {', '.join(config.hand_labels.sheets)} (fill the label column: "
                        "train.py label --input SHEET)")
    return hand


def fine_tuning(config: TrainConfig) -> FineTuning:
    """How the end model continues on hand labels: the config's `hand_labels` settings."""
    return FineTuning(config.hand_labels.epochs, config.hand_labels.learning_rate, config.hand_labels.C)


def fine_tune_on_hand_labels(model: ProbabilisticClassifier, hand: HandLabels, n_areas: int,
                             settings: FineTuning) -> HandLabelled:
    """Hand-labels stage: `model` (served, uncalibrated) fine-tuned on every hand label; before that, a copy per
    fold (two folds by id) fine-tuned on the other fold scores its papers, so that every figure on the hand labels
    is out of fold."""
    started = time.perf_counter()
    labels = Gold(hand.frame, hand.y, HAND_LABEL_SALT)
    targets = np.eye(n_areas)[hand.y]
    before = model.predict_proba(hand.frame)
    out_of_fold = before.copy()  # a fold with no other fold to learn from keeps the model's own
    fold = labels.halves()
    for held_out in (fold, ~fold):
        if held_out.any() and not held_out.all():
            say(f"fine-tuning a copy on {int((~held_out).sum())} hand labels to score the other "
                f"{int(held_out.sum())}")
            fold_model = copy.deepcopy(model).fine_tune(hand.frame[~held_out], targets[~held_out], settings)
            out_of_fold[held_out] = fold_model.predict_proba(hand.frame[held_out])
    say(f"fine-tuning the end model on {len(hand)} hand labels")
    model.fine_tune(hand.frame, targets, settings, progress=True)
    return HandLabelled(model, labels, before, out_of_fold, time.perf_counter() - started)


def gold_probabilities(model: ProbabilisticClassifier, kinds: list[str], gold: Gold, names: list[str]
                       ) -> tuple[np.ndarray, dict[str, Scores]]:
    """The uncalibrated served model's probabilities on gold, its parts scored on the way: an average's members
    (`end_model.<kind>`) and, with a teacher, the end model alone (`end_model.alone`) and the teacher alone on the
    keyword votes (`teacher`; a paper without one counts as wrong)."""
    teacher = model if isinstance(model, TaughtClassifier) else None
    student = teacher.model if teacher else model
    scores: dict[str, Scores] = {}
    if isinstance(student, AveragedClassifier):
        members = student.member_probabilities(gold.frame)
        scores = {f"end_model.{kind}": score(gold.y, probabilities.argmax(axis=1), names)
                  for kind, probabilities in zip(kinds, members, strict=True)}
        alone = np.mean(members, axis=0)
    else:
        alone = student.predict_proba(gold.frame)
    if teacher is None:
        return alone, scores
    votes = teacher.votes(gold.frame)
    scores["end_model.alone"] = score(gold.y, alone.argmax(axis=1), names)
    scores["teacher"] = score(gold.y, teacher.labeler.predict(votes), names)
    return averaged(alone, teacher.labeler.predict_proba(votes), covered(votes), teacher.weight), scores


def check_calibration_gold(gold: Gold, n_areas: int, where: str, hint: str = "") -> None:
    """Refuse (GoldError naming `where`, ending with `hint`) gold too small or of too few areas to calibrate on."""
    hint = f"; {hint}" if hint else ""
    halves = gold.halves()
    if min(halves.sum(), (~halves).sum()) < MIN_GOLD_PER_HALF:
        raise GoldError(f"{where}: {len(gold.y)} gold papers, too few to calibrate on and measure (at least "
                        f"{MIN_GOLD_PER_HALF} in each half by id; a few hundred make a good calibration{hint})")
    areas, needed = len(np.unique(gold.y)), math.ceil(MIN_GOLD_AREA_SHARE * n_areas)
    if areas < needed:
        raise GoldError(f"{where}: gold papers of {areas} of the {n_areas} areas, too few to calibrate on (at least "
                        f"{needed}: a calibration fitted on a few areas is theirs, not the model's{hint})")


def can_calibrate_on(gold: Gold, n_areas: int) -> bool:
    """Whether `gold` (or hand labels shaped as gold) is enough to calibrate on (`check_calibration_gold`)."""
    try:
        check_calibration_gold(gold, n_areas, "")
    except GoldError:
        return False
    return True


def calibration_settings(config: TrainConfig, on_hand_labels: bool) -> tuple[str, bool]:
    """The calibration a run fits (`end_model.calibration`, `class_offsets`); on hand labels (no gold) without the
    per-area offsets: the fine-tuning has learnt the labels' class balance already, and offsets fitted on 100 of
    them cost Papers with Code dev 10 points of macro-F1 (BENCHMARKS, "A few hand labels")."""
    return config.end_model.calibration, config.end_model.class_offsets and not on_hand_labels


def calibration_name(kind: str, class_offsets: bool) -> str:
    """What a calibration does, as said in tags and messages: "class offsets + isotonic", "temperature", ..."""
    return " + ".join((["class offsets"] if class_offsets else []) + ([kind] if kind != "none" else []))


def calibrate_on_gold(model: ProbabilisticClassifier, raw: np.ndarray, gold: Gold, kind: str, class_offsets: bool
                      ) -> tuple[CalibratedClassifier, CrossFitted]:
    """Calibration stage with gold: `model` wrapped with a calibrator fitted on all of gold from its probabilities
    `raw`, and the ECE before and after, cross-fitted on two halves of gold (whose predictions the scores use)."""
    calibrator = functools.partial(new_calibrator, kind, class_offsets)
    crossed = cross_fitted_ece(raw, gold.y, gold.halves(), calibrator)
    return CalibratedClassifier(model, calibrator().fit(raw, gold.y)), crossed


def calibrate_without_gold(model: ProbabilisticClassifier, kinds: list[str], setting: str, why: str = "no gold"
                           ) -> tuple[ProbabilisticClassifier, str]:
    """Calibration stage without gold (`why`: why not on gold): `model` wrapped with the map shipped for its `kinds`
    (unless `setting` is "none"), and what was done, in words."""
    name = "+".join(kinds)
    shipped = no_gold_map(kinds) if setting == "shipped" else None
    if shipped is None:
        reason = "end_model.calibration_without_gold: none" if setting == "none" else f"no map shipped for {name}"
        return model, f"none ({why}; {reason})"
    return CalibratedClassifier(model, shipped), f"{shipped.KIND} map shipped for {name} ({why})"


def evaluation(gold: Gold, predicted: np.ndarray, names: list[str], member_scores: dict[str, Scores],
               label_scores: dict[str, Scores]) -> dict[str, Scores]:
    """Evaluation stage: gold scores per predictor, the end model's (from `predicted`, held out when calibration
    could move the top area) first, then its members', then the labellers'."""
    return {"end_model": score(gold.y, predicted, names), **member_scores, **label_scores}


def label_distributions(soft_labels: np.ndarray, gold: Gold | None, predicted: np.ndarray | None, n_areas: int
                        ) -> dict[str, np.ndarray]:
    """The share of each area among the weak labels' top areas and, with gold, gold's labels and predictions on it."""
    distributions = {"weak labels": np.bincount(soft_labels.argmax(1), minlength=n_areas) / len(soft_labels)}
    if gold is not None and predicted is not None:
        distributions["gold"] = np.bincount(gold.y, minlength=n_areas) / len(gold.y)
        distributions["end model on gold"] = np.bincount(predicted, minlength=n_areas) / len(predicted)
    return distributions
