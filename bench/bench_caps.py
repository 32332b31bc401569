"""What the label model's row cap and the end model's stratified sample change, on the real 7.4k corpus.

    .venv/bin/python bench/bench_caps.py [--max-rows 5000 2000] [--max-papers 4000 2000] [--quick]

Votes: configs/iclr.yaml's LFs (keyword + centroid embedding LFs) on its training dumps, by the training job's own
read and votes stages. Row cap: the label model fitted on all rows vs on `max_rows` of them (uniform prior, the
shipped settings); the share of papers whose weak label (argmax) changes and the largest probability change.
Sample: the TF-IDF end model trained on all covered papers vs on a stratified sample of `max_papers`, scored on
the config's gold. --quick: the quick config (samples, keyword LFs), caps of 100.
"""

from __future__ import annotations

import numpy as np
from harness import REPO, quick_config, run, start

from labeling import LabelModelLabeler, covered, majority_areas
from models import TfidfClassifier
from models.evaluation import score
from paper_areas.pipeline import stages
from paper_areas.pipeline.config import load_config
from paper_areas.pipeline.sampling import stratified_sample


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--max-rows", type=int, nargs="*", default=[5000, 2000]),
        parser.add_argument("--max-papers", type=int, nargs="*", default=[4000, 2000])))
    config = load_config(quick_config() if args.quick else REPO / "configs" / "iclr.yaml")
    max_rows, max_papers = ([100], [100]) if args.quick else (args.max_rows, args.max_papers)
    inputs = stages.read(config)
    names = inputs.taxonomy.names
    strata = majority_areas(inputs.votes.train, len(names))
    votes = stages.votes(inputs, config.label_model.embedding_lfs, config.embeddings).train
    frame = inputs.frame
    report.note(papers=len(frame), lfs=votes.shape[1])

    def label_model(max_rows: int | None) -> LabelModelLabeler:
        settings = config.label_model
        return LabelModelLabeler(len(names), epochs=settings.epochs, lr=settings.learning_rate, l2=settings.l2,
                                 seed=settings.seed, prior=settings.prior, max_rows=max_rows).fit(votes)

    full = label_model(None).predict_proba(votes)
    keep = covered(votes)
    rows = []
    for cap in max_rows:
        capped = label_model(cap).predict_proba(votes)
        rows.append({"label model fitted on": f"{cap:,} of {len(frame):,} rows",
                     "weak labels changed (covered papers)": float((capped.argmax(1) != full.argmax(1))[keep].mean()),
                     "largest probability change": float(np.abs(capped - full).max())})
    report.table("label model row cap", rows)
    rows = []
    for cap in [None, *max_papers]:
        sample = stratified_sample(strata, cap, seed=0)
        sample = sample[keep[sample]]
        model = TfidfClassifier().fit(frame.iloc[sample].reset_index(drop=True), full[sample])
        result = score(inputs.gold.y, model.predict(inputs.gold.frame), names)
        rows.append({"end model trained on": "all covered papers" if cap is None else f"stratified sample of {cap:,}",
                     "papers": len(sample), "dev accuracy": result.accuracy, "dev macro-F1": result.macro_f1})
    report.table("end model sample", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
