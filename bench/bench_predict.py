"""predict.py on a large synthetic JSONL dump: papers/s and peak RSS of the whole process.

    [MLFLOW_TRACKING_URI=sqlite:////path/mlruns.db] .venv/bin/python bench/bench_predict.py [--papers 1000000]
        [--model URI] [--corpus ../shared/data/iclr2024-corpus.jsonl] [--batch-size 512]

The dump repeats the corpus with a unique id and a numbered title per copy (so nothing is de-duplicated away); it
is written to /tmp. The model is the registry champion unless --model is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "data" / "iclr2024-corpus.jsonl"


def synthetic_dump(corpus: Path, papers: int, folder: Path = Path("/tmp")) -> Path:
    """A JSONL dump of `papers` papers made by repeating `corpus` (kept between runs)."""
    path = folder / f"paper-areas-synthetic-{papers}.jsonl"
    if path.exists():
        return path
    records = [json.loads(line) for line in corpus.open()]
    temp = path.with_suffix(".part")
    with temp.open("w") as out:
        for i in range(papers):
            record = records[i % len(records)]
            copy = i // len(records)
            out.write(json.dumps({"id": f"synthetic-{i}", "title": f"{record['title']} (copy {copy})",
                                  "abstract": record["abstract"]}) + "\n")
    temp.rename(path)
    return path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, default=1_000_000)
    parser.add_argument("--model", help="model URI (default: the registry champion)")
    parser.add_argument("--corpus", type=Path, default=CORPUS)
    parser.add_argument("--batch-size", default="512")
    args = parser.parse_args()
    dump = synthetic_dump(args.corpus, args.papers)
    output = Path("/tmp") / f"paper-areas-predictions-{args.papers}.jsonl"
    command = [sys.executable, str(REPO / "predict.py"), "--input", str(dump), "--output", str(output),
               "--batch-size", args.batch_size, *(["--model", args.model] if args.model else [])]
    started = time.perf_counter()
    result = subprocess.run(command, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - started
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(result.stderr[-1500:], file=sys.stderr)
    rows = sum(1 for _ in output.open()) if result.returncode == 0 else 0
    print(f"papers={args.papers} rows={rows} seconds={seconds:.1f} papers_per_s={rows / seconds:.0f} "
          f"peak_rss_mb={peak_mb:.0f} exit={result.returncode}")


if __name__ == "__main__":
    main()
