"""Issue 11: train.py on big synthetic dumps, time and peak memory per step.

    .venv/bin/python bench/bench_train_scale.py --papers 10000 100000 1000000 [--end-model tfidf]
        [--engine local spark] [--config configs/default.yaml] [-- extra train.py flags]

Papers are the ICLR 2024 corpus repeated with unique ids and titles (bench_predict.synthetic_dump). Each run is
`train.py --config C --dumps <dump> --end-model K --engine E` in its own process, into a temporary MLflow store,
with an empty embedding cache.
Peak memory is sampled every second over the whole process tree (train.py, its label workers, Spark's JVM and
Python workers) as the sum of their PSS (pages shared between processes counted once). Step times come from
train.py's own `[   t s]` lines (its whole output is kept in
/tmp/bench-train-scale-<papers>-<end model>-<engine>.log). Prints one markdown row per run.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench_predict import CORPUS, synthetic_dump

REPO = Path(__file__).resolve().parents[1]
STEPS = {  # train.py line prefix -> step name; a step lasts until the next step's line
    "reading": "read+label",
    "left out": "sample",
    "sampled": "sample",
    "embedding LFs": "embed",
    "fitting the label model": "label model",
    "training the": "end model",
    "confidence calibrated": "calibrate",
    "logging and registering": "log+register",
}


def tree_memory(root: int) -> int:
    """Memory of `root` and all its descendants: the sum of their proportional set sizes (PSS, from /proc), so that
    pages shared by forked label workers and their parent are counted once. Only the tree's own smaps_rollup are read
    (it walks every page table, which is what costs)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parent = int(Path(f"/proc/{entry}/stat").read_text().rpartition(")")[2].split()[1])
            except OSError:
                continue
            children.setdefault(parent, []).append(int(entry))
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        total += 1024 * int(next((line.split()[1] for line in rollup.splitlines() if line.startswith("Pss:")), "0"))
        todo.extend(children.get(pid, []))
    return total


def run(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak memory of the process tree in bytes and stderr of `command`."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
    peak = [0]

    def sample() -> None:
        while process.poll() is None:
            peak[0] = max(peak[0], tree_memory(process.pid))
            time.sleep(1.0)  # reading smaps_rollup of a 3 GB process takes ~0.1 s of CPU

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = process.communicate()
    sampler.join()
    if process.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr[-3000:]}")
    return time.perf_counter() - started, peak[0], stderr


def step_seconds(stderr: str, total: float) -> dict[str, float]:
    """Seconds per step from the `[   t s] message` lines (the last step ends at the end of the run)."""
    marks = []
    for line in stderr.splitlines():
        match = re.match(r"\[\s*([\d.]+)s\] (.*)", line)
        if match:
            step = next((name for prefix, name in STEPS.items() if match[2].startswith(prefix)), None)
            if step:
                marks.append((float(match[1]), step))
    ends = [start for start, _ in marks[1:]] + [total]
    seconds: dict[str, float] = {}
    for (start, step), end in zip(marks, ends, strict=True):
        seconds[step] = seconds.get(step, 0.0) + end - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--papers", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--end-model", default="tfidf")
    parser.add_argument("--engine", nargs="+", default=["local"])
    parser.add_argument("--config", default=str(REPO / "configs" / "default.yaml"))
    parser.add_argument("extra", nargs="*", help="more train.py flags (after --)")
    args = parser.parse_args()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MLFLOW_DISABLE_TELEMETRY": "true"}
    names = list(dict.fromkeys(STEPS.values()))
    print("| papers | end model | engine | wall | peak memory (PSS) | " + " | ".join(names) + " |")
    for papers in args.papers:
        dump = synthetic_dump(CORPUS, papers)
        for engine in args.engine:
            with tempfile.TemporaryDirectory(prefix="bench-train-scale-") as store:
                env["MLFLOW_TRACKING_URI"] = f"sqlite:///{store}/mlruns.db"
                env["XDG_CACHE_HOME"] = store  # a cold embedding cache: every run embeds its sample
                command = [sys.executable, "train.py", "--config", args.config, "--dumps", str(dump),
                           "--end-model", args.end_model, "--engine", engine, *args.extra]
                seconds, peak, stderr = run(command, env)
            steps = step_seconds(stderr, seconds)
            cells = " | ".join(f"{steps[name]:.0f} s" if name in steps else "-" for name in names)
            print(f"| {papers:,} | {args.end_model} | {engine} | {seconds / 60:.1f} min | {peak / 2**30:.2f} GB | "
                  f"{cells} |", flush=True)
            log = Path(tempfile.gettempdir()) / f"bench-train-scale-{papers}-{args.end_model}-{engine}.log"
            log.write_text(stderr)
            print(f"train.py output: {log}", file=sys.stderr)


if __name__ == "__main__":
    main()
