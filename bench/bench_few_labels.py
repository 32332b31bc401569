"""What n hand labels buy: a trained model fine-tuned on n labels of one dev half, as the product does it, scored on
the other half, against the same learners trained on the n labels alone and against the weak labels alone.

    .venv/bin/python bench/bench_few_labels.py --model STORE MODEL_URI CONFIG [--sizes 25 50 100 200 400]
        [--draws 3] [--alone-draws 0] [--alone-sizes N...] [--scores-only] [--time-add-labels N] [--quick]

The model (STORE, MODEL_URI, CONFIG: the config gives its gold, taxonomy and `hand_labels` settings) is read
uncalibrated (served with its teacher, if it has one). One dev half (`evaluation.split_by_id`) is the pool a user
labels, the other is scored, both ways round; only the labels of the papers chosen are revealed, as a user would
reveal them (inside this bench the revealed dev labels are training labels by design; nowhere else). Per n
(`--scores-only`: the final fine-tuning alone, see `product`):
- chosen: `train.py select`'s choice (`paper_areas.hand_labels.choose`, its random share included) on the pool as
  the model sees it; random: n papers drawn uniformly, `--draws` times;
- weak + labels (the product, `train.py --hand-labels` / `add-labels`): the model fine-tuned on the labels
  (`stages.fine_tune_on_hand_labels`, with the config's `hand_labels` settings), then the config's calibration
  without per-area offsets (`stages.calibration_settings`) fitted on its out-of-fold probabilities of the labelled
  papers, when they are enough to calibrate on; also the same with the offsets fitted too, and its end model
  without the teacher;
- labels alone: the TF-IDF end model and a linear SVM on the labels (cheap, every selection), and the product's
  end models (MiniLM + TF-IDF as configured, MiniLM for `EPOCHS_ALONE` epochs) on the labels alone
  (`--alone-draws` selections of each kind, chosen first);
- weak only: the model as trained (n = 0).
Every cell is the mean over both directions and the draws, each half scored on its own: accuracy / macro-F1, and the
seconds a round of fine-tuning took. --time-add-labels N: instead, `train.py add-labels` of N labels (half A, drawn
at random) timed as a user runs it. --quick: the quick TF-IDF model, sizes 10 and 20, one draw.
"""

from __future__ import annotations

import argparse
import copy
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from bench_hand_labels import tfidf_svm
from harness import REPO, config_gold, load_classifier, quick_model, run, run_process, start

from models import TfidfClassifier, averaged, build_end_model, frame_texts, teacher_of
from models.evaluation import score, split_by_id
from paper_areas.hand_labels import HandLabels, Row, Sheet, choose, text_features
from paper_areas.pipeline import stages
from paper_areas.prediction.select import pool_view
from paper_areas.tracking.store import sqlite_path

EPOCHS_ALONE = 10  # MiniLM on the labels alone: a few hundred papers need more passes than 8,000 weak labels


def product(base, labelled, y, test, config, n_areas: int, scores_only: bool) -> dict[str, np.ndarray]:
    """The product's model fine-tuned on the labelled papers and calibrated on them out of fold (when they are
    enough; `stages.calibration_settings`): its test probabilities, and those of its end model without the teacher
    and with the config's per-area offsets fitted on the labels too (what the product does not do); the seconds the
    product's fine-tuning and calibration took. `scores_only`: only the final fine-tuning (no out-of-fold copies, so
    no calibration and no offsets row), which gives the product's accuracy and macro-F1 at a third of the cost as long
    as its calibration keeps every paper's top area (every kind does; per-area offsets do not: `main` checks)."""
    started = time.perf_counter()
    calibrators = {}
    if scores_only:
        model = copy.deepcopy(base).fine_tune(labelled, np.eye(n_areas)[y], stages.fine_tuning(config))
    else:
        hand = HandLabels(labelled.assign(chosen_by=""), y)
        tuned = stages.fine_tune_on_hand_labels(copy.deepcopy(base), hand, n_areas, stages.fine_tuning(config))
        model = tuned.model
        enough = stages.can_calibrate_on(tuned.labels, n_areas)
        kind, offsets = stages.calibration_settings(config, on_hand_labels=True)
        if enough and (kind != "none" or offsets):
            calibrators["weak + labels (the product)"] = stages.calibrate_on_gold(
                model, tuned.out_of_fold, tuned.labels, kind, offsets)[0].calibrator
        if enough and config.end_model.class_offsets:
            calibrators["weak + labels, with per-area offsets fitted on the labels too"] = stages.calibrate_on_gold(
                model, tuned.out_of_fold, tuned.labels, config.end_model.calibration, True)[0].calibrator
    seconds = time.perf_counter() - started
    taught = teacher_of(model)
    if taught is None:
        served = model.predict_proba(test)
        found = {}
    else:  # one pass of the end model: the served average, and the end model alone
        student, teacher, voted = taught.parts(test)
        served = averaged(student, teacher, voted, taught.weight)
        found = {"weak + labels, end model without its teacher": student}
    found = {name: calibrator.transform(served) for name, calibrator in calibrators.items()} | found
    return {"weak + labels (the product)": served} | found | {"seconds": seconds}


def alone(labelled, y, test, config, n_areas: int, with_end_models: bool) -> dict[str, np.ndarray]:
    """The learners trained on the labelled papers alone (one-hot), their test probabilities."""
    one_hot = np.eye(n_areas)[y]
    found = {"labels alone: TF-IDF": TfidfClassifier().fit(labelled, one_hot, progress=False).predict_proba(test),
             "labels alone: TF-IDF linear SVM": tfidf_svm(labelled, y, test, n_areas)}
    if with_end_models:
        settings = config.flat() | {"end_model.epochs": EPOCHS_ALONE}
        model = build_end_model(config.end_model.kinds, settings).fit(labelled, one_hot, progress=False)
        found[f"labels alone: {'+'.join(config.end_model.kinds)}"] = model.predict_proba(test)
    return found


def time_add_labels(spec: list[str], config_path: str, pool, y, n: int, n_areas: int, names: list[str]) -> dict:
    """`train.py add-labels` of a sheet of `n` pool papers chosen for labelling (their gold labels revealed), whole
    process, into a copy of the model's store: its wall seconds and peak RSS."""
    store = sqlite_path(spec[0])
    with tempfile.TemporaryDirectory() as folder:
        copied = Path(folder) / store.name
        shutil.copy(store, copied)
        rows = np.random.default_rng(n).choice(len(pool), n, replace=False)
        sheet = Sheet(Path(folder) / "round.csv", [
            Row(i + 2, paper.id, paper.title, paper.abstract, label=names[y[row]])
            for i, (row, paper) in enumerate(zip(rows, pool.iloc[rows].itertuples(), strict=True))])
        sheet.write()
        command = [sys.executable, str(REPO / "train.py"), "add-labels", "--model", spec[1], "--config", config_path,
                   "--hand-labels", str(sheet.path), "--no-gold"]
        seconds, peak_mb, _ = run_process(command, {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{copied}"})
    return {"labels": n, "seconds": seconds, "peak RSS MB": peak_mb}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", nargs=3, metavar=("STORE", "MODEL_URI", "CONFIG"))
    parser.add_argument("--sizes", nargs="+", type=int, default=[25, 50, 100, 200, 400])
    parser.add_argument("--draws", type=int, default=3, help="random selections per n")
    parser.add_argument("--alone-draws", type=int, default=0,
                        help="selections per kind (chosen, random) whose labels also train the end models alone")
    parser.add_argument("--alone-sizes", nargs="+", type=int,
                        help="the n at which the end models also train on the labels alone (default: every n)")
    parser.add_argument("--scores-only", action="store_true",
                        help="fine-tune once per selection, without the out-of-fold copies the calibration needs "
                             "(same accuracy and macro-F1 under a top-label calibration; seconds are not a round's)")
    parser.add_argument("--time-add-labels", type=int, metavar="N",
                        help="only time `train.py add-labels` of N labels of half A (whole process; the new version "
                             "is registered in a copy of the store, its artifacts where the experiment keeps them)")


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, add_arguments)
    spec = quick_model() if args.quick else args.model
    if not spec:
        raise SystemExit("give --model STORE MODEL_URI CONFIG")
    sizes, draws = ([10, 20], 1) if args.quick else (args.sizes, args.draws)
    config, taxonomy, gold = config_gold(spec[2])
    if args.scores_only and stages.calibration_settings(config, on_hand_labels=True)[1]:
        raise SystemExit("--scores-only: the product fits per-area offsets on hand labels, which can change a "
                         "paper's top area; run without it")
    names, n_areas = taxonomy.names, len(taxonomy.names)
    base = load_classifier(spec[1], spec[0])
    half_a = split_by_id(gold.frame["id"])
    report.note(model=spec[1], gold_papers=len(gold.y), half_a=int(half_a.sum()), sizes=sizes, draws=draws,
                hand_labels=config.hand_labels)
    if args.time_add_labels:
        pool_rows = np.flatnonzero(half_a)
        timing = time_add_labels(spec, spec[2], gold.frame.iloc[pool_rows], gold.y[pool_rows],
                                 min(args.time_add_labels, len(pool_rows)), n_areas, names)
        report.table("train.py add-labels, whole process", [timing])
        return report.write()
    cells: dict[tuple[str, int, str], list[tuple[float, float]]] = {}
    seconds: dict[tuple[int, str], list[float]] = {}
    for direction, pool_mask in enumerate((half_a, ~half_a)):
        pool_rows, test_rows = np.flatnonzero(pool_mask), np.flatnonzero(~pool_mask)
        pool, test, y_test = gold.frame.iloc[pool_rows], gold.frame.iloc[test_rows], gold.y[test_rows]
        weak = base.predict_proba(test)
        cells.setdefault(("weak labels only (the model as trained)", 0, ""), []).append(_scores(y_test, weak, names))
        seen = pool_view(base, pool.reset_index(drop=True))
        features = text_features(frame_texts(pool))
        for n in sizes:
            selections = [("chosen", choose(features, seen, n, n_areas, seed=direction)["row"].to_numpy())]
            rng = np.random.default_rng(1000 * n + direction)
            selections += [("random", rng.choice(len(pool_rows), n, replace=False)) for _ in range(draws)]
            for i, (how, rows) in enumerate(selections):
                labelled, y = pool.iloc[rows].reset_index(drop=True), gold.y[pool_rows[rows]]
                found = product(base, labelled, y, test, config, n_areas, args.scores_only)
                seconds.setdefault((n, how), []).append(found.pop("seconds"))
                alone_round = (i == 0 or (how == "random" and i <= args.alone_draws)) and (
                    args.alone_sizes is None or n in args.alone_sizes)
                found |= alone(labelled, y, test, config, n_areas, with_end_models=alone_round)
                for predictor, probabilities in found.items():
                    cells.setdefault((predictor, n, how), []).append(_scores(y_test, probabilities, names))
                print({"direction": direction, "n": n, "how": how, **{predictor: cells[(predictor, n, how)][-1]
                                                                     for predictor in found}}, flush=True)
    rows = [{"predictor": predictor, "hand labels": n, "chosen or random": how, "cells": len(pairs),
             "accuracy": float(np.mean([pair[0] for pair in pairs])),
             "macro-F1": float(np.mean([pair[1] for pair in pairs])),
             "fine-tuning seconds": float(np.mean(seconds[(n, how)])) if predictor.startswith("weak + ") else None}
            for (predictor, n, how), pairs in cells.items()]
    report.table("accuracy / macro-F1 on the other half, the mean of both directions (and draws)", rows)
    return report.write()


def _scores(y, probabilities: np.ndarray, names: list[str]) -> tuple[float, float]:
    result = score(y, probabilities.argmax(axis=1), names)
    return result.accuracy, result.macro_f1


if __name__ == "__main__":
    run(main)
