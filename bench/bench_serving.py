"""REST serving: single-request latency (p50, p95) and requests/s over 200 sequential one-paper requests.

    [MLFLOW_TRACKING_URI=sqlite:////path/mlruns.db] .venv/bin/python bench/bench_serving.py [--requests 200]
        [--model models:/paper-area-classifier@champion]

Starts `mlflow models serve` (as `make serve` does) on a free 127.0.0.1 port; the papers are the seeds.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paper_areas.dumps import read_dumps  # noqa: E402
from paper_areas.prediction.model import DEFAULT_MODEL_URI, resolve_model_uri  # noqa: E402
from paper_areas.prediction.serving import model_server  # noqa: E402
from paper_areas.tracking import resolve_tracking_uri  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--model", default=DEFAULT_MODEL_URI)
    args = parser.parse_args()
    resolve_model_uri(args.model)  # fails clearly without a store
    papers = [paper for paper in read_dumps(sorted((REPO / "samples").glob("0*.txt")))]
    bodies = [{"dataframe_records": [{"title": paper.title, "abstract": paper.abstract}]} for paper in papers]
    with model_server(args.model, resolve_tracking_uri()) as url, requests.Session() as session:
        session.post(f"{url}/invocations", json=bodies[0], timeout=60).raise_for_status()  # warm-up
        latencies = []
        started = time.perf_counter()
        for i in range(args.requests):
            sent = time.perf_counter()
            session.post(f"{url}/invocations", json=bodies[i % len(bodies)], timeout=60).raise_for_status()
            latencies.append(time.perf_counter() - sent)
        seconds = time.perf_counter() - started
    cuts = statistics.quantiles(latencies, n=100)
    print(f"requests={args.requests} p50_ms={cuts[49] * 1000:.1f} p95_ms={cuts[94] * 1000:.1f} "
          f"requests_per_s={args.requests / seconds:.1f}")


if __name__ == "__main__":
    main()
