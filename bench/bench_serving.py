"""REST serving: single-request latency (p50, p95) and requests/s over sequential one-paper requests.

    [MLFLOW_TRACKING_URI=sqlite:////path/mlruns.db] .venv/bin/python bench/bench_serving.py [--requests 200]
        [--model models:/paper-area-classifier@champion] [--quick]

Starts the model server of `make serve` on a free 127.0.0.1 port, sends one warm-up request, then
`--requests` one-paper requests over one keep-alive connection; the papers are the samples. --quick: 20 requests
to the quick TF-IDF model.
"""

from __future__ import annotations

import statistics

import requests
from harness import QUICK_MODEL, SAMPLES, model_server, quick_store, run, start, timed

from paper_areas.dumps import read_dumps
from paper_areas.prediction.model import DEFAULT_MODEL_URI, resolve_model_uri
from paper_areas.tracking import resolve_tracking_uri


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--requests", type=int, default=200), parser.add_argument("--model")))
    model, count = (QUICK_MODEL, 20) if args.quick else (args.model or DEFAULT_MODEL_URI, args.requests)
    tracking_uri = quick_store() if args.quick else resolve_tracking_uri()
    if not args.quick:
        resolve_model_uri(model)  # fails clearly without a store
    bodies = [{"dataframe_records": [{"title": paper.title, "abstract": paper.abstract}]}
              for paper in read_dumps(SAMPLES)]
    latencies = []
    with model_server(model, tracking_uri) as url, requests.Session() as session:
        post = lambda body: session.post(f"{url}/invocations", json=body, timeout=60).raise_for_status()  # noqa: E731
        post(bodies[0])  # warm-up
        seconds, _ = timed(lambda: [latencies.append(timed(lambda i=i: post(bodies[i % len(bodies)]))[0])
                                    for i in range(count)])
    cuts = statistics.quantiles(latencies, n=100)
    report.note(model=model, requests=count, p50_ms=round(cuts[49] * 1000, 1), p95_ms=round(cuts[94] * 1000, 1),
                requests_per_s=round(count / seconds, 1))
    return report.write()


if __name__ == "__main__":
    run(main)
