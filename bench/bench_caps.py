"""Issue 11: what the label model's row cap and the end model's stratified sample change, on the real 7.4k corpus.

    .venv/bin/python bench/bench_caps.py [--max-rows 5000 2000] [--max-papers 4000 2000]

Votes: configs/iclr.yaml's LFs (keyword + centroid embedding LFs) on the ICLR 2024 corpus and the samples.
Row cap: the label model fitted on all rows vs on `max_rows` of them (uniform prior, the shipped settings); the
share of papers whose weak label (argmax) changes and the largest probability change. Sample: the TF-IDF end model
trained on all covered papers vs on a stratified sample of `max_papers`, scored on iclr2025-dev.
"""

from __future__ import annotations

import argparse
import io
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labeling import covered, keyword_lfs, load_taxonomy, majority_areas  # noqa: E402
from models import TfidfClassifier  # noqa: E402
from models.evaluation import score  # noqa: E402
from paper_areas.pipeline.config import load_config  # noqa: E402
from paper_areas.pipeline.corpus import read_corpus  # noqa: E402
from paper_areas.pipeline.data import read_gold  # noqa: E402
from paper_areas.pipeline.sampling import stratified_sample  # noqa: E402
from paper_areas.pipeline.weak_labels import Votes, add_embedding_lfs, fit_label_model  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-rows", type=int, nargs="*", default=[5000, 2000])
    parser.add_argument("--max-papers", type=int, nargs="*", default=[4000, 2000])
    args = parser.parse_args()
    config = load_config(REPO / "configs" / "iclr.yaml")
    taxonomy = load_taxonomy(config.taxonomy)
    names = taxonomy.names
    lfs = keyword_lfs(taxonomy)
    corpus = read_corpus(config.dumps, lfs, stream=io.StringIO())
    frame = corpus.papers(np.arange(len(corpus)))
    strata = majority_areas(corpus.votes, len(names))
    votes = Votes(list(lfs), corpus.votes.astype(np.int64), None)
    votes = add_embedding_lfs(taxonomy, votes, frame, None, config.embeddings)
    corpus.close()
    print(f"papers={len(frame)} lfs={len(votes.lfs)}")

    def labeler(max_rows: int | None):
        settings = config.label_model
        settings.max_rows = max_rows
        return fit_label_model(votes, settings, names, None)

    full = labeler(None).predict_proba(votes.train)
    keep = covered(votes.train)
    print("| label model fitted on | weak labels changed (covered papers) | largest probability change |")
    for max_rows in args.max_rows:
        capped = labeler(max_rows).predict_proba(votes.train)
        changed = (capped.argmax(1) != full.argmax(1))[keep].mean()
        largest = np.abs(capped - full).max()
        print(f"| {max_rows:,} of {len(frame):,} rows | {changed:.2%} | {largest:.3f} |", flush=True)

    gold = read_gold(config.gold, taxonomy, verbose=False)
    print("| end model trained on | papers | dev accuracy | dev macro-F1 |")
    for max_papers in [None, *args.max_papers]:
        rows = stratified_sample(strata, max_papers, seed=0)
        rows = rows[keep[rows]]
        model = TfidfClassifier().fit(frame.iloc[rows].reset_index(drop=True), full[rows])
        result = score(gold.y, model.predict(gold.frame), names)
        label = "all covered papers" if max_papers is None else f"stratified sample of {max_papers:,}"
        print(f"| {label} | {len(rows):,} | {result.accuracy:.4f} | {result.macro_f1:.4f} |", flush=True)


if __name__ == "__main__":
    main()
