"""The served model with its teacher: the end model alone, the teacher alone and their average, on dev halves.

    .venv/bin/python bench/bench_teacher.py [--setup NAME ...] [--one-training] [--quick]
        [--end-model-from SETUP STORE MODEL_URI ...]

A setup is a training config with end-model overrides (SETUPS; by default the four that take minutes, not hours).
A setup with gold is trained once per ICLR/PwC dev half: the half given as gold chooses the labeller and the epoch,
as training does with gold, and every figure is measured on the other half. --one-training (for the MiniLM setups,
most of an hour each): trained once, the whole dev set choosing the labeller and the epoch as `train.py` does, and
measured on both halves and the whole dev (the choices favour the end model and the average alike); with
--end-model-from, that setup's end model is not trained but read from a model `train.py` registered with its config
and gold (uncalibrated, without the teacher it may have). A setup without gold
(`samples-*`: the bundled samples, what `make train` trains) is trained once and measured on both halves of ICLR
2025 dev.

The teacher is the chosen labeller on a paper's keyword votes, the embedding LFs' columns abstaining: what the served
model computes (`models.TaughtClassifier`). For comparison, the same labeller on all of the paper's votes, keyword
and embedding LFs (which would need an encoder pass at prediction). Rows: the end model alone, the teacher alone
(a paper without a vote counts as wrong), and the average at weights 0.3, 0.5 and 0.7 (keyword teacher) and 0.5
(keyword + embedding teacher). Accuracy, macro-F1 and ECE uncalibrated and after the config's gold calibration
fitted on the other half. --quick: the quick config (samples, every tenth dev paper), keyword LFs only.
"""

from __future__ import annotations

import numpy as np
from bench_calibration_transfer import ece_of, pooled
from harness import REPO, View, halves, load_classifier, quick_config, run, shared_data, start

from labeling import ABSTAIN, covered
from models import TaughtClassifier, TopLabelLogistic, averaged, build_end_model, cross_fitted_ece, new_calibrator
from models.evaluation import expected_calibration_error, score
from paper_areas.pipeline import stages
from paper_areas.pipeline.config import load_config
from paper_areas.pipeline.weak_labels import Votes, choose_labeler

TFIDF = {"end_model": {"kind": "tfidf", "average_with": []}}
SETUPS = {  # name: (config, overrides, whether gold chooses the labeller and the epoch)
    "samples-tfidf": ("configs/default.yaml", TFIDF, False),
    "samples-shipped": ("configs/default.yaml", {}, False),
    "iclr-tfidf": ("configs/iclr.yaml", TFIDF, True),
    "pwc-tfidf": ("configs/pwc.yaml", TFIDF, True),
    "iclr-shipped": ("configs/iclr.yaml", {}, True),
    "pwc-shipped": ("configs/pwc.yaml", {}, True),
}
DEFAULT_SETUPS = ["samples-tfidf", "samples-shipped", "iclr-tfidf", "pwc-tfidf"]
WEIGHTS = (0.3, 0.5, 0.7)


def figures(name: str, probabilities: np.ndarray, y: np.ndarray, names: list[str], calibrator, fit_on,
            half_a: np.ndarray) -> dict:
    """Accuracy, macro-F1, ECE uncalibrated and through `calibrator` fitted on `fit_on` (probabilities, y), or
    with no `fit_on` rows (the whole dev measured), cross-fitted over the halves `half_a`."""
    scores = score(y, probabilities.argmax(axis=1), names)
    calibrated_ece = (cross_fitted_ece(probabilities, y, half_a, calibrator).ece_after if not len(fit_on[1])
                      else expected_calibration_error(calibrator().fit(*fit_on).transform(probabilities), y))
    return {"predictor": name, "accuracy": scores.accuracy, "macro-F1": scores.macro_f1,
            "ECE": expected_calibration_error(probabilities, y), "ECE calibrated (other half)": calibrated_ece}


def measure(setup: str, config, chooses: bool, one_training: bool, trained=None) -> tuple[list[dict], View]:
    """The rows of one setup: per measured half, every predictor's figures on it; and the served model's (average
    0.5, keyword LFs) uncalibrated probabilities on the whole gold, each half from a training that did not choose on
    it unless --one-training."""
    inputs = stages.read(config)
    taxonomy, gold, names = inputs.taxonomy, inputs.gold, inputs.taxonomy.names
    all_votes = stages.votes(inputs, config.label_model.embedding_lfs, config.embeddings)
    n_keyword = len(inputs.votes.lfs)
    half_a = halves(gold.frame["id"])
    calibrator = lambda: new_calibrator(config.end_model.calibration, config.end_model.class_offsets)  # noqa: E731
    halves_measured = [("half A", half_a), ("half B", ~half_a)]
    trainings = ([("no gold", np.zeros(len(gold.y), dtype=bool))] if not chooses
                 else [("whole dev", np.ones(len(gold.y), dtype=bool))] if one_training else halves_measured)
    rows, served_probabilities = [], np.zeros((len(gold.y), len(names)))
    for chosen_on, choosing in trainings:
        votes = Votes(all_votes.lfs, all_votes.train, all_votes.gold[choosing])
        choice = choose_labeler(votes, config.label_model, names, gold.y[choosing] if chooses else None)
        keep = covered(all_votes.train)
        model = trained or build_end_model(config.end_model.kinds, config.flat()).fit(
            inputs.frame[keep].reset_index(drop=True), choice.labeler.predict_proba(all_votes.train[keep]),
            eval_set=(gold.frame[choosing], gold.y[choosing]) if chooses else None, progress=False)
        student = model.predict_proba(gold.frame)
        keyword_votes = all_votes.gold.copy()
        keyword_votes[:, n_keyword:] = ABSTAIN
        predictors = {"end model alone": student,
                      "teacher (keyword LFs)": choice.labeler.predict_proba(keyword_votes),
                      "teacher (all LFs)": choice.labeler.predict_proba(all_votes.gold)}
        abstains = {"teacher (keyword LFs)": ~covered(keyword_votes), "teacher (all LFs)": ~covered(all_votes.gold)}
        for weight in WEIGHTS:
            predictors[f"average {weight} (keyword LFs)"] = averaged(
                student, predictors["teacher (keyword LFs)"], covered(keyword_votes), weight)
        predictors["average 0.5 (all LFs)"] = averaged(student, predictors["teacher (all LFs)"],
                                                       covered(all_votes.gold), 0.5)
        served = TaughtClassifier(model, taxonomy, choice.labeler, all_votes.train.shape[1], 0.5)
        assert np.array_equal(served.predict_proba(gold.frame), predictors["average 0.5 (keyword LFs)"])
        measured = [pair for pair in halves_measured if pair[0] != chosen_on] if chooses and not one_training \
            else [*halves_measured, ("whole dev", np.ones(len(gold.y), dtype=bool))]
        for half, rows_measured in measured:
            served_probabilities[rows_measured] = predictors["average 0.5 (keyword LFs)"][rows_measured]
            fit_on_rows = ~rows_measured
            for name, probabilities in predictors.items():
                p = probabilities.copy()
                if name in abstains:  # a paper without a vote: no area (wrong), its probabilities uniform
                    p[abstains[name]] = 1 / len(names)
                row = figures(name, p[rows_measured], gold.y[rows_measured], names, calibrator,
                              (p[fit_on_rows], gold.y[fit_on_rows]), half_a)
                if name in abstains:
                    predicted = np.where(abstains[name], ABSTAIN, choice.labeler.predict(
                        keyword_votes if "keyword" in name else all_votes.gold))[rows_measured]
                    scores = score(gold.y[rows_measured], predicted, names)
                    row |= {"accuracy": scores.accuracy, "macro-F1": scores.macro_f1, "coverage": scores.coverage}
                rows.append({"setup": setup, "chosen on": chosen_on, "measured on": half,
                             "labeller": choice.labeler.NAME, **row})
                print(rows[-1], flush=True)
    return rows, View(setup, taxonomy.name, names, setup.split("-")[-1], served_probabilities, gold.y,
                      chooses, half_a)


def uncalibrated_end_model(model_uri: str, store: str):
    """The end model of a registered model, without its calibration and teacher."""
    model = load_classifier(model_uri, store)
    return model.model if isinstance(model, TaughtClassifier) else model


def no_gold_maps(found: list[View]) -> list[dict]:
    """Per end model (tfidf, shipped), the top-label logistic map `models.NO_GOLD_MAPS` would ship for it served
    with its teacher: fitted on the gold setups of both taxonomies pooled; each setup's ECE through the map fitted on
    the other taxonomy only (a gold setup) or on both (the samples, which never chose anything)."""
    rows = []
    for view in found:
        fitting = [v for v in found if v.name == view.name and v.fits]
        others = [v for v in fitting if v.taxonomy != view.taxonomy] if view.fits else fitting
        pooled_map = TopLabelLogistic().fit(*pooled(fitting)) if fitting else TopLabelLogistic()
        rows.append({"setup": view.model, "taxonomy": view.taxonomy, "end model": view.name,
                     "ECE uncalibrated": expected_calibration_error(view.probabilities, view.y),
                     "map fitted on": ", ".join(sorted({v.taxonomy for v in others})),
                     "ECE through that map": ece_of(TopLabelLogistic, others, view),
                     "pooled map slope": pooled_map.slope, "pooled map intercept": pooled_map.intercept})
    return rows


def main(argv: list[str] | None = None):
    def options(parser):
        parser.add_argument("--setup", nargs="+", choices=SETUPS, default=DEFAULT_SETUPS)
        parser.add_argument("--one-training", action="store_true",
                            help="train a gold setup once, the whole dev choosing, measured on both halves")
        parser.add_argument("--end-model-from", nargs=3, action="append", default=[],
                            metavar=("SETUP", "STORE", "MODEL_URI"),
                            help="with --one-training: that setup's end model is this registered model's")

    args, report = start(__file__, __doc__, argv, options)
    if args.end_model_from and not args.one_training:
        raise SystemExit("--end-model-from needs --one-training")
    trained = {setup: uncalibrated_end_model(model_uri, store) for setup, store, model_uri in args.end_model_from}
    setups = {"quick": (quick_config(), {}, True)} if args.quick else {name: SETUPS[name] for name in args.setup}
    rows, served_views = [], []
    for setup, (config_path, overrides, chooses) in setups.items():
        config = load_config(REPO / config_path if not args.quick else config_path, overrides)
        if not chooses:  # measured on ICLR 2025 dev, the default taxonomy's gold; never chooses anything
            config.gold = str(shared_data("iclr2025-dev.jsonl"))
        setup_rows, view = measure(setup, config, chooses, args.one_training, trained.get(setup))
        rows, served_views = rows + setup_rows, served_views + [view]
    report.table("teacher", rows)
    gains = []
    for setup in dict.fromkeys(row["setup"] for row in rows):
        for half in ("half A", "half B", "whole dev"):
            found = {row["predictor"]: row for row in rows if row["setup"] == setup and row["measured on"] == half}
            if found:
                alone, served = found["end model alone"], found["average 0.5 (keyword LFs)"]
                gains.append({"setup": setup, "measured on": half, "alone acc": alone["accuracy"],
                              "served acc": served["accuracy"], "gain acc": served["accuracy"] - alone["accuracy"],
                              "gain macro-F1": served["macro-F1"] - alone["macro-F1"]})
    report.table("average 0.5 (keyword LFs) against the end model alone", gains)
    report.table("no-gold map for the served average (confidence without gold)", no_gold_maps(served_views))
    return report.write()


if __name__ == "__main__":
    run(main)
