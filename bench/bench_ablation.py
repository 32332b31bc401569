"""The ablation: each step of the weak-supervision pipeline alone and together, from one commit.

    .venv/bin/python bench/bench_ablation.py [--config configs/iclr.yaml] [--quick]

Three steps change which area a paper gets, measured as a 2x2x2 grid (every combination) with the cheap end
models: the centroid embedding LFs (off: keyword LFs only), the labeller (majority vote, or the label model with
the gold class prior; a run with gold trains on the better of the two on gold), and a second view averaged in
(off: the TF-IDF end model alone; on: the mean of TF-IDF and the frozen-embedding logistic regression, the stand-in
for the shipped MiniLM + TF-IDF average). The fourth, calibration, changes only `confidence`: every row has its ECE
uncalibrated and after a top-label isotonic map cross-fitted on gold (fitted on one half, measured on the other).
Votes come from the training job's own read and votes stages; gold is never a training label. Scores: the
labeller's own labels on half B, and the end model on half B and all of gold. --quick: the quick config (samples,
the tiny encoder), the grid's two corners.
"""

from __future__ import annotations

import itertools

import numpy as np
from harness import REPO, halves, quick_config, run, start

from labeling import LabelModelLabeler, MajorityVoteLabeler, covered
from models import EmbeddingLogisticClassifier, TfidfClassifier, TopLabelIsotonic, cross_fitted_ece
from models.evaluation import score
from paper_areas.pipeline import stages
from paper_areas.pipeline.config import load_config


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: parser.add_argument(
        "--config", default=str(REPO / "configs" / "iclr.yaml")))
    config = load_config(quick_config() if args.quick else args.config)
    inputs = stages.read(config)
    frame, gold, names = inputs.frame, inputs.gold, inputs.taxonomy.names
    k, y, half_a = len(names), inputs.gold.y, halves(inputs.gold.frame["id"])
    with_centroids = stages.votes(inputs, True, config.embeddings)
    settings = config.label_model
    embedding_view = EmbeddingLogisticClassifier(model_path=config.embeddings.model_path,
                                                 cache_dir=config.embeddings.cache_dir)
    rows = []
    grid = itertools.product((False, True), repeat=3)
    for centroids, label_model, second_view in [(False,) * 3, (True,) * 3] if args.quick else grid:
        votes = with_centroids if centroids else inputs.votes
        labeler = (LabelModelLabeler(k, epochs=settings.epochs, lr=settings.learning_rate, l2=settings.l2,
                                     seed=settings.seed) if label_model else MajorityVoteLabeler(k))
        labeler.fit(votes.train, y)  # gold gives the class balance only
        keep = covered(votes.train)
        train_frame, soft_labels = frame[keep].reset_index(drop=True), labeler.predict_proba(votes.train[keep])
        views = [TfidfClassifier()] + ([embedding_view] if second_view else [])
        proba = np.mean([view.fit(train_frame, soft_labels, progress=False).predict_proba(gold.frame)
                         for view in views], axis=0)
        fitted = cross_fitted_ece(proba, y, half_a, TopLabelIsotonic)
        labels_b = score(y[~half_a], labeler.predict(votes.gold)[~half_a], names)
        half_b, whole = score(y[~half_a], proba[~half_a].argmax(1), names), score(y, proba.argmax(1), names)
        rows.append({"centroid LFs": "on" if centroids else "-", "labeller": "LM" if label_model else "MV",
                     "2nd view": "on" if second_view else "-", "labels B acc": labels_b.accuracy,
                     "labels B F1": labels_b.macro_f1, "B acc": half_b.accuracy, "B F1": half_b.macro_f1,
                     "dev acc": whole.accuracy, "dev F1": whole.macro_f1, "ECE": fitted.ece_before,
                     "ECE isotonic (xfit)": fitted.ece_after})
        print(rows[-1], flush=True)
    report.note(training_papers=len(frame), gold_papers=len(y), half_b=int((~half_a).sum()))
    report.table("ablation", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
