"""Local vs Spark (`local[*]`, this machine) at growing corpus sizes: prediction and the label matrix.

    [MLFLOW_TRACKING_URI=sqlite:////path/mlruns.db] .venv/bin/python bench/bench_spark.py
        [--predict-sizes 10000 100000] [--label-sizes 10000 100000 1000000] [--model URI] [--quick]

Papers are the ICLR 2024 corpus repeated with unique ids and titles (`harness.synthetic_dump`). Prediction:
`predict_dumps` end to end (read, predict, write JSONL) with engine local, then spark; the Spark time includes job
set-up but not the session start (measured once, apart). Label matrix: `apply_lfs` vs `apply_lfs_spark` on the
papers already in memory, with the iclr2025 taxonomy's keyword LFs. --quick: 200 papers, the quick TF-IDF model.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import numpy as np
from harness import QUICK_MODEL, REPO, quick_store, run, start, synthetic_dump, timed

from labeling import apply_lfs, keyword_lfs, load_taxonomy
from labeling.spark import apply_lfs_spark, spark_session
from paper_areas.dumps import papers_frame, read_dumps
from paper_areas.prediction import DEFAULT_MODEL_URI, predict_dumps


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--predict-sizes", type=int, nargs="*", default=[10_000, 100_000]),
        parser.add_argument("--label-sizes", type=int, nargs="*", default=[10_000, 100_000, 1_000_000]),
        parser.add_argument("--model", default=DEFAULT_MODEL_URI)))
    predict_sizes, label_sizes, model = (([200], [200], QUICK_MODEL) if args.quick
                                         else (args.predict_sizes, args.label_sizes, args.model))
    tracking = {"tracking_uri": quick_store()} if args.quick else {}  # else MLFLOW_TRACKING_URI or the repo's
    startup, _ = timed(spark_session)
    report.note(spark_session_startup_s=round(startup, 1))
    rows = []
    for size in predict_sizes:
        dump, seconds = synthetic_dump(size), {}
        for engine in ("local", "spark"):
            output = Path(tempfile.gettempdir()) / f"paper-areas-bench-spark-{engine}-{size}.jsonl"
            seconds[engine], _ = timed(lambda engine=engine, output=output, dump=dump: predict_dumps(
                [dump], output, model_uri=model, engine=engine, stream=io.StringIO(), **tracking))
        rows.append({"papers": size, "local s": seconds["local"], "spark s": seconds["spark"],
                     "local papers/s": round(size / seconds["local"]),
                     "spark papers/s": round(size / seconds["spark"])})
    report.table("prediction", rows)
    lfs = keyword_lfs(load_taxonomy(REPO / "configs" / "taxonomies" / "iclr2025.yaml"))
    rows = []
    for size in label_sizes:
        frame = papers_frame(read_dumps([synthetic_dump(size)]))
        local_s, local = timed(lambda frame=frame: apply_lfs(lfs, frame))
        spark_s, on_spark = timed(lambda frame=frame: apply_lfs_spark(lfs, frame))
        rows.append({"papers": size, "local s": local_s, "spark s": spark_s,
                     "equal": bool(np.array_equal(local, on_spark))})
    report.table("label matrix", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
