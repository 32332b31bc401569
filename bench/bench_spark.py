"""Local vs Spark (`local[*]`, this machine) at growing corpus sizes: prediction and the label matrix.

    [MLFLOW_TRACKING_URI=sqlite:////path/mlruns.db] .venv/bin/python bench/bench_spark.py
        [--predict-sizes 10000 100000] [--label-sizes 10000 100000 1000000] [--model URI]

Papers are the ICLR 2024 corpus repeated with unique ids and titles (bench_predict.synthetic_dump).
Prediction: `predict_dumps` end to end (read, predict, write JSONL) with engine local, then spark; the Spark time
includes the session start-up (measured once, shown apart). Label matrix: `apply_lfs` vs `apply_lfs_spark` on
the papers already in memory, with the iclr2025 taxonomy's keyword LFs.
"""

from __future__ import annotations

import argparse
import io
import sys
import time
from pathlib import Path

import numpy as np
from bench_predict import CORPUS, synthetic_dump

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from labeling import apply_lfs, keyword_lfs, load_taxonomy  # noqa: E402
from labeling.spark import apply_lfs_spark, spark_session  # noqa: E402
from paper_areas.dumps import papers_frame, read_dumps  # noqa: E402
from paper_areas.prediction import DEFAULT_MODEL_URI, predict_dumps  # noqa: E402


def timed(function, *args, **kwargs) -> tuple[float, object]:
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - started, result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--predict-sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--label-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--model", default=DEFAULT_MODEL_URI)
    args = parser.parse_args()
    startup, _ = timed(spark_session)
    print(f"spark_session_startup_s={startup:.1f}", flush=True)
    for size in args.predict_sizes:
        dump = synthetic_dump(CORPUS, size)
        seconds = {}
        for engine in ("local", "spark"):
            output = Path("/tmp") / f"paper-areas-bench-spark-{engine}-{size}.jsonl"
            seconds[engine], _ = timed(predict_dumps, [dump], output, model_uri=args.model, engine=engine,
                                       stream=io.StringIO())
        print(f"predict papers={size} local_s={seconds['local']:.1f} spark_s={seconds['spark']:.1f} "
              f"local_papers_per_s={size / seconds['local']:.0f} spark_papers_per_s={size / seconds['spark']:.0f}",
              flush=True)
    lfs = keyword_lfs(load_taxonomy(REPO / "configs" / "taxonomies" / "iclr2025.yaml"))
    for size in args.label_sizes:
        frame = papers_frame(read_dumps([synthetic_dump(CORPUS, size)]))
        local_s, local = timed(apply_lfs, lfs, frame)
        spark_s, on_spark = timed(apply_lfs_spark, lfs, frame)
        print(f"label_matrix papers={size} local_s={local_s:.1f} spark_s={spark_s:.1f} "
              f"equal={np.array_equal(local, on_spark)}", flush=True)


if __name__ == "__main__":
    main()
