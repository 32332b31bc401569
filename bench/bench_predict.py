"""predict.py on a large synthetic JSONL dump: papers/s and peak RSS of the whole process.

    [MLFLOW_TRACKING_URI=sqlite:////path/mlruns.db] .venv/bin/python bench/bench_predict.py [--papers 1000000]
        [--model URI] [--batch-size 512] [--quick]

The dump repeats the ICLR 2024 corpus with a unique id and a numbered title per copy (nothing is de-duplicated
away), kept in the temporary folder. The model is the registry champion unless --model is given. --quick: 300
papers, the quick TF-IDF model.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from harness import QUICK_MODEL, REPO, quick_store, run, run_process, start, synthetic_dump


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--papers", type=int, default=1_000_000),
        parser.add_argument("--model", help="model URI (default: the registry champion)"),
        parser.add_argument("--batch-size", default="512")))
    papers, model = (300, QUICK_MODEL) if args.quick else (args.papers, args.model)
    env = {**os.environ, "MLFLOW_TRACKING_URI": quick_store()} if args.quick else None
    dump = synthetic_dump(papers)
    output = Path(tempfile.gettempdir()) / f"paper-areas-predictions-{papers}.jsonl"
    command = [sys.executable, str(REPO / "predict.py"), "--input", str(dump), "--output", str(output),
               "--batch-size", args.batch_size, *(["--model", model] if model else [])]
    seconds, peak_mb, _ = run_process(command, env)
    rows = sum(1 for _ in output.open())
    report.note(papers=papers, rows=rows, seconds=round(seconds, 1), papers_per_s=round(rows / seconds),
                peak_rss_mb=round(peak_mb))
    return report.write()


if __name__ == "__main__":
    run(main)
