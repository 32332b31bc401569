"""Fast keyword-LF applier vs Snorkel's PandasLFApplier on the ICLR 2024 corpus, as a ratio in one run.

    .venv/bin/python bench/bench_applier.py [--corpus PATH] [--taxonomy YAML] [--quick]

--quick: the first 25 papers of the bundled samples.
"""

from __future__ import annotations

import numpy as np
from harness import REPO, SAMPLES, run, shared_data, start, timed
from snorkel.labeling import LabelingFunction, PandasLFApplier

from labeling import apply_lfs, keyword_lfs, load_taxonomy
from labeling.lfs import ABSTAIN, KeywordLF, text_of
from paper_areas.dumps import papers_frame, read_dumps


def snorkel_lf(lf: KeywordLF) -> LabelingFunction:
    """The keyword LF as a Snorkel LF by plain regex search over rows with `.title` and `.abstract`."""

    def vote(row) -> int:
        texts = [text_of(getattr(row, field)) for field in lf.fields]
        hits = [any(t.search(text) for t in terms for text in texts) for terms in (lf.group.terms, lf.group.negative)]
        return lf.area if hits == [True, False] else ABSTAIN

    return LabelingFunction(lf.name, f=vote)


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--corpus", help="default: ../shared/data/iclr2024-corpus.jsonl"),
        parser.add_argument("--taxonomy", default=str(REPO / "configs" / "taxonomies" / "iclr2025.yaml"))))
    lfs = keyword_lfs(load_taxonomy(args.taxonomy))
    dumps = SAMPLES if args.quick else [args.corpus or shared_data("iclr2024-corpus.jsonl")]
    frame = papers_frame(read_dumps(dumps))
    frame = frame.iloc[:25] if args.quick else frame
    fast_seconds, fast = timed(lambda: apply_lfs(lfs, frame))
    snorkel_seconds, reference = timed(lambda: PandasLFApplier([snorkel_lf(lf) for lf in lfs]).apply(
        frame, progress_bar=False))
    report.note(papers=len(frame), lfs=len(lfs), terms=sum(len(lf.group.terms) + len(lf.group.negative) for lf in lfs),
                identical=bool(np.array_equal(fast, reference)))
    report.table("appliers", [{"applier": name, "seconds": seconds, "papers/s": round(len(frame) / seconds),
                               "speed-up": round(snorkel_seconds / seconds, 1)}
                              for name, seconds in (("snorkel PandasLFApplier", snorkel_seconds),
                                                    ("labeling.apply_lfs", fast_seconds))])
    return report.write()


if __name__ == "__main__":
    run(main)
