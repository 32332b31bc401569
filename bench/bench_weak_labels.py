"""Issue 10: better weak labels and calibrated confidence, step by step, with cheap end models.

    .venv/bin/python bench/bench_weak_labels.py [--cache-dir DIR] [--quick]

Training papers are configs/iclr.yaml's dumps (ICLR 2024 corpus + sample dumps, unlabelled); gold is its dev set,
split in two halves by `evaluation.split_by_id`: half A chooses (label-model settings, the prior, which labels
train the end models), half B and the whole dev set report. Gold is never a training label: it gives the label
model's class prior (one of the measured options) and fits the temperatures, cross-fitted (fit on one half,
measured on the other). The no-gold calibrations (a temperature against the soft labels, a top-label isotonic map
against their top area) are fitted on 10% of the covered training papers held out from the end models' fit.
Embeddings are cached in --cache-dir (first run ~3-10 min to embed). Prints markdown tables: the steps, the
label-model settings tried, the weakest areas of the final model.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from labeling import (  # noqa: E402
    EmbeddingLFs,
    EmbeddingLFSpec,
    WeakLabeler,
    apply_lfs,
    covered,
    gold_class_balance,
    keyword_lfs,
    load_taxonomy,
    vote_shares,
)
from models import (  # noqa: E402
    EmbeddingLogisticClassifier,
    SentenceEncoder,
    TemperatureScaling,
    TfidfClassifier,
    TopLabelIsotonic,
    cross_fitted_ece,
)
from models.evaluation import expected_calibration_error, score, split_by_id  # noqa: E402
from models.text import frame_texts  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402
from paper_areas.pipeline.data import read_gold, read_papers  # noqa: E402

CONFIG = REPO / "configs" / "iclr.yaml"
DEFAULT_LM = {"epochs": 100, "lr": 0.01, "l2": 0.0}  # WeakLabeler's defaults
CONFIG_LM = {"epochs": 100, "lr": 0.001, "l2": 0.0}  # configs/iclr.yaml's label_model settings
LM_GRID = [DEFAULT_LM, CONFIG_LM, {"epochs": 500, "lr": 0.01, "l2": 0.0}, {"epochs": 500, "lr": 0.01, "l2": 1.0}]
CENTROID = EmbeddingLFSpec("centroid", margin=0.02, min_confidence=0.7)
HOLDOUT_SHARE = 0.1
DEFAULT_CACHE = str(Path.home() / ".cache" / "paper-areas" / "embeddings")


def iclr_papers():
    """configs/iclr.yaml's taxonomy, training papers (its dumps) and gold papers."""
    config = load_config(CONFIG)
    taxonomy = load_taxonomy(config.taxonomy)
    return taxonomy, read_papers(config.dumps, verbose=False), read_gold(config.gold, taxonomy, verbose=False)


def markdown(table: pd.DataFrame, digits: int = 3) -> str:
    """A pipe table of `table` (pandas' to_markdown needs tabulate, which is not installed)."""
    cells = [[f"{value:.{digits}f}" if isinstance(value, float) else str(value) for value in row]
             for row in table.itertuples(index=False)]
    lines = [list(map(str, table.columns)), ["---"] * len(table.columns), *cells]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


class Bench:
    """Collects one table row per step: scores on half B and on the whole dev set, coverage, ECEs, seconds."""

    def __init__(self, y: np.ndarray, half_a: np.ndarray, names: list[str]) -> None:
        self.y, self.half_a, self.names = y, half_a, names
        self.rows: list[dict] = []
        self.started = time.perf_counter()

    def scores(self, predicted: np.ndarray, where: np.ndarray | None = None):
        where = np.ones(len(self.y), dtype=bool) if where is None else where
        return score(self.y[where], predicted[where], self.names)

    def add(self, step: str, predicted: np.ndarray, **extra: float | str) -> None:
        half_b, whole = self.scores(predicted, ~self.half_a), self.scores(predicted)
        self.rows.append({"step": step, "B acc": half_b.accuracy, "B F1": half_b.macro_f1, "dev acc": whole.accuracy,
                          "dev F1": whole.macro_f1, "coverage": whole.coverage, **extra,
                          "seconds": time.perf_counter() - self.started})
        print(f"  {self.rows[-1]}", file=sys.stderr, flush=True)
        self.started = time.perf_counter()

    def macro_f1_on_a(self, predicted: np.ndarray) -> float:
        return self.scores(predicted, self.half_a).macro_f1


def labelers(votes: np.ndarray, y: np.ndarray, k: int, settings: dict, prior: str) -> WeakLabeler:
    """A WeakLabeler with the class balance from gold (`gold`), the votes (`estimate`) or `uniform`."""
    balance = gold_class_balance(y, k) if prior == "gold" else None
    return WeakLabeler(k, **settings, class_balance=balance, prior="estimate" if prior == "estimate" else "uniform")


def end_model_row(bench: Bench, step: str, proba: np.ndarray, held_out_proba: np.ndarray,
                  held_out_labels: np.ndarray) -> None:
    """Scores and ECEs of an end model's dev probabilities `proba`: uncalibrated, calibrated on gold (cross-fitted),
    and the no-gold candidates fitted on held-out training papers against the weak labels (a temperature against
    the soft labels, a top-label isotonic map against their top area)."""
    fitted = cross_fitted_ece(proba, bench.y, bench.half_a)
    no_gold = TemperatureScaling().fit(held_out_proba, held_out_labels)
    isotonic = TopLabelIsotonic().fit(held_out_proba, held_out_labels.argmax(axis=1))
    bench.add(step, proba.argmax(axis=1), ECE=fitted.ece_before, **{
        "ECE T gold (xfit)": fitted.ece_after,
        "ECE T no-gold": expected_calibration_error(no_gold.transform(proba), bench.y),
        "ECE isotonic no-gold": expected_calibration_error(isotonic.transform(proba), bench.y),
        "T": "/".join(f"{t:.2f}" for t in (*(c.temperature for c in fitted.calibrators), no_gold.temperature))})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    parser.add_argument("--quick", action="store_true", help="only the 100-epoch label-model settings")
    args = parser.parse_args()

    taxonomy, frame, gold = iclr_papers()
    names, k = taxonomy.names, len(taxonomy.areas)
    y, half_a = gold.y, split_by_id(gold.frame["id"])
    bench = Bench(y, half_a, names)
    print(f"{len(frame)} training papers, {len(y)} gold ({half_a.sum()} in half A)", file=sys.stderr)

    lfs = keyword_lfs(taxonomy)
    votes, gold_votes = apply_lfs(lfs, frame), apply_lfs(lfs, gold.frame)
    bench.add(f"keyword LFs ({len(lfs)}), majority vote", WeakLabeler(k, epochs=1).fit(votes).predict_of(
        "majority_vote", gold_votes))
    for prior in ("gold", "estimate", "uniform"):
        labeler = labelers(votes, y, k, DEFAULT_LM, prior).fit(votes)
        bench.add(f"keyword LFs, label model (WeakLabeler defaults), prior {prior}",
                  labeler.predict_of("label_model", gold_votes))

    encoder = SentenceEncoder(cache_dir=args.cache_dir)
    embeddings, gold_embeddings = encoder.embed(frame_texts(frame)), encoder.embed(frame_texts(gold.frame))
    bench.add("(embedding the papers)", np.full(len(y), -1))
    centroid_lfs = EmbeddingLFs(taxonomy, (CENTROID,)).fit(embeddings, vote_shares(votes, k))
    all_votes = np.concatenate([votes, centroid_lfs.apply(embeddings)], axis=1)
    all_gold_votes = np.concatenate([gold_votes, centroid_lfs.apply(gold_embeddings)], axis=1)
    mv = WeakLabeler(k, epochs=1).fit(all_votes)
    bench.add(f"+ centroid LFs ({len(centroid_lfs.lfs)}), majority vote",
              mv.predict_of("majority_vote", all_gold_votes))

    grid_rows: list[dict] = []
    fitted: dict[tuple[str, str], WeakLabeler] = {}

    def try_settings(settings: dict, prior: str) -> None:
        started = time.perf_counter()
        labeler = labelers(all_votes, y, k, settings, prior).fit(all_votes)
        predicted = labeler.predict_of("label_model", all_gold_votes)
        grid_rows.append({**settings, "prior": prior, "A acc": bench.scores(predicted, half_a).accuracy,
                          "A F1": bench.macro_f1_on_a(predicted), "seconds": time.perf_counter() - started})
        fitted[str(settings), prior] = labeler
        print(f"  {grid_rows[-1]}", file=sys.stderr, flush=True)

    for settings in LM_GRID[:2] if args.quick else LM_GRID:  # settings chosen with the gold prior ...
        try_settings(settings, "gold")
    best = max(grid_rows, key=lambda row: row["A F1"])
    best_settings = {key: best[key] for key in ("epochs", "lr", "l2")}
    for prior in ("estimate", "uniform"):  # ... then the prior without gold
        try_settings(best_settings, prior)
    for prior in ("gold", "estimate", "uniform"):
        bench.add(f"+ centroid LFs, label model {best_settings} (chosen on A), prior {prior}",
                  fitted[str(best_settings), prior].predict_of("label_model", all_gold_votes))
    grid = pd.DataFrame(grid_rows)
    labeler = fitted[str(best_settings), "gold"]

    lm_f1 = bench.macro_f1_on_a(labeler.predict_of("label_model", all_gold_votes))
    mv_f1 = bench.macro_f1_on_a(mv.predict_of("majority_vote", all_gold_votes))
    chosen, predictor = (labeler, "label_model") if lm_f1 > mv_f1 else (mv, "majority_vote")
    print(f"end models train on {predictor} labels (half A macro-F1 LM {lm_f1:.4f} vs MV {mv_f1:.4f})",
          file=sys.stderr)
    keep = np.flatnonzero(covered(all_votes))
    rng = np.random.default_rng(0)
    held_out = np.zeros(len(keep), dtype=bool)
    held_out[rng.permutation(len(keep))[: int(HOLDOUT_SHARE * len(keep))]] = True
    soft_labels = chosen.proba_of(predictor, all_votes[keep])
    fit_rows, calibration_rows = keep[~held_out], keep[held_out]
    train_frame = frame.iloc[fit_rows].reset_index(drop=True)
    calibration_frame = frame.iloc[calibration_rows].reset_index(drop=True)
    fit_labels, calibration_labels = soft_labels[~held_out], soft_labels[held_out]
    bench.started = time.perf_counter()

    probabilities = {}
    for step, model in (("TF-IDF end model", TfidfClassifier()),
                        ("embedding LR end model", EmbeddingLogisticClassifier(cache_dir=args.cache_dir))):
        model.fit(train_frame, fit_labels, progress=False)
        probabilities[step] = (model.predict_proba(gold.frame), model.predict_proba(calibration_frame))
        end_model_row(bench, f"{step} ({predictor} labels)", *probabilities[step], calibration_labels)
    ensemble = [np.mean([pair[i] for pair in probabilities.values()], axis=0) for i in (0, 1)]
    end_model_row(bench, "ensemble: mean of TF-IDF and embedding LR", *ensemble, calibration_labels)

    table = pd.DataFrame(bench.rows)
    print(f"\n{len(frame)} training papers, dev {len(y)} papers (half B {int((~half_a).sum())}); "
          f"label-model settings chosen on half A: {best_settings}\n")
    print(markdown(table))
    print("\nlabel-model settings (with centroid LFs), scored on half A:\n")
    print(markdown(grid, 4))
    final = score(y, ensemble[0].argmax(axis=1), names).per_area.sort_values("f1")
    print(f"\nensemble: {int((final['f1'] > 0).sum())}/{k} areas with F1 > 0; weakest five on dev:\n")
    print(markdown(final.head(5).rename_axis("area").reset_index()))


if __name__ == "__main__":
    main()
