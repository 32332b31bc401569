"""Fast keyword-LF applier vs Snorkel's PandasLFApplier on the ICLR 2024 corpus, as a ratio in one run.

    .venv/bin/python bench/bench_applier.py [--corpus PATH] [--taxonomy YAML]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
from snorkel.labeling import PandasLFApplier

from labeling import apply_lfs, keyword_lfs, load_taxonomy
from paper_areas.dumps import papers_frame, read_dumps

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", default=str(REPO.parent / "shared" / "data" / "iclr2024-corpus.jsonl"))
    parser.add_argument("--taxonomy", default=str(REPO / "configs" / "taxonomies" / "iclr2025.yaml"))
    args = parser.parse_args()
    lfs = keyword_lfs(load_taxonomy(args.taxonomy))
    frame = papers_frame(read_dumps([args.corpus]))
    terms = sum(len(lf.group.terms) + len(lf.group.negative) for lf in lfs)

    started = time.perf_counter()
    fast = apply_lfs(lfs, frame)
    fast_seconds = time.perf_counter() - started
    started = time.perf_counter()
    reference = PandasLFApplier([lf.to_snorkel() for lf in lfs]).apply(frame, progress_bar=False)
    snorkel_seconds = time.perf_counter() - started

    print(f"{len(frame)} papers, {len(lfs)} LFs ({terms} terms), identical: {np.array_equal(fast, reference)}\n")
    print("| applier | seconds | papers/s | speed-up |")
    print("|---|---:|---:|---:|")
    for name, seconds in (("snorkel PandasLFApplier", snorkel_seconds), ("labeling.apply_lfs", fast_seconds)):
        print(f"| {name} | {seconds:.2f} | {len(frame) / seconds:,.0f} | {snorkel_seconds / seconds:.1f}x |")


if __name__ == "__main__":
    main()
