"""Issue 10's ablation: each step of the weak-supervision pipeline alone and together, from one commit.

    .venv/bin/python bench/bench_ablation.py [--cache-dir DIR]

Three steps change which area a paper gets, measured as a 2x2x2 grid (every combination) with the cheap end
models: the centroid embedding LFs (off: keyword LFs only), the labeller (majority vote, or the label model with the
gold class prior, the better of the two on dev half A being what a run with gold trains on), and a second view
averaged in (off: the TF-IDF end model alone; on: the mean of TF-IDF and the frozen-embedding logistic regression,
the stand-in for the shipped MiniLM + TF-IDF average). The fourth, calibration, changes only `confidence`: every
row has its ECE uncalibrated and after a top-label isotonic map fitted on gold (cross-fitted: on one half of dev,
measured on the other). Training papers are configs/iclr.yaml's dumps; gold is never a training label. Prints one
markdown table: half B (reported) and whole-dev scores per combination.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from bench_weak_labels import CENTROID, CONFIG_LM, DEFAULT_CACHE, iclr_papers, labelers, markdown  # noqa: E402

from labeling import EmbeddingLFs, WeakLabeler, apply_lfs, covered, keyword_lfs, vote_shares  # noqa: E402
from models import EmbeddingLogisticClassifier, SentenceEncoder, TfidfClassifier, TopLabelIsotonic, cross_fitted_ece  # noqa: E402
from models.evaluation import score, split_by_id  # noqa: E402
from models.text import frame_texts  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cache-dir", default=DEFAULT_CACHE)
    args = parser.parse_args()

    taxonomy, frame, gold = iclr_papers()
    names, k = taxonomy.names, len(taxonomy.areas)
    y, half_a = gold.y, split_by_id(gold.frame["id"])

    lfs = keyword_lfs(taxonomy)
    keyword_votes = apply_lfs(lfs, frame), apply_lfs(lfs, gold.frame)
    encoder = SentenceEncoder(cache_dir=args.cache_dir)
    embeddings, gold_embeddings = encoder.embed(frame_texts(frame)), encoder.embed(frame_texts(gold.frame))
    centroid_lfs = EmbeddingLFs(taxonomy, (CENTROID,)).fit(embeddings, vote_shares(keyword_votes[0], k))
    with_centroids = tuple(np.concatenate([votes, centroid_lfs.apply(e)], axis=1)
                           for votes, e in zip(keyword_votes, (embeddings, gold_embeddings), strict=True))

    rows = []
    for centroids, label_model, second_view in itertools.product((False, True), repeat=3):
        votes, gold_votes = with_centroids if centroids else keyword_votes
        predictor = "label_model" if label_model else "majority_vote"
        labeler = (labelers(votes, y, k, CONFIG_LM, "gold") if label_model else WeakLabeler(k, epochs=1)).fit(votes)
        keep = covered(votes)
        train_frame, soft_labels = frame[keep].reset_index(drop=True), labeler.proba_of(predictor, votes[keep])
        views = [TfidfClassifier()] + ([EmbeddingLogisticClassifier(cache_dir=args.cache_dir)] if second_view else [])
        proba = np.mean([view.fit(train_frame, soft_labels, progress=False).predict_proba(gold.frame)
                         for view in views], axis=0)
        fitted = cross_fitted_ece(proba, y, half_a, TopLabelIsotonic)
        half_b, whole = score(y[~half_a], proba[~half_a].argmax(1), names), score(y, proba.argmax(1), names)
        labels_b = score(y[~half_a], labeler.predict_of(predictor, gold_votes)[~half_a], names)
        rows.append({"centroid LFs": "on" if centroids else "-", "labeller": "LM" if label_model else "MV",
                     "2nd view": "on" if second_view else "-", "labels B acc": labels_b.accuracy,
                     "labels B F1": labels_b.macro_f1, "B acc": half_b.accuracy, "B F1": half_b.macro_f1,
                     "dev acc": whole.accuracy, "dev F1": whole.macro_f1, "ECE": fitted.ece_before,
                     "ECE isotonic (xfit)": fitted.ece_after})
        print(f"  {rows[-1]}", file=sys.stderr, flush=True)
    print(f"\n{len(frame)} training papers, dev {len(y)} papers (half B {int((~half_a).sum())})\n")
    print(markdown(pd.DataFrame(rows)))


if __name__ == "__main__":
    main()
