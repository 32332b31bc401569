"""train.py on big synthetic dumps, time and peak memory per step.

    .venv/bin/python bench/bench_train_scale.py --papers 10000 100000 1000000 [--end-model tfidf]
        [--engine local spark] [--config configs/default.yaml] [--quick] [-- extra train.py flags]

Papers are the ICLR 2024 corpus repeated with unique ids and titles (`harness.synthetic_dump`). Each run is
`train.py --config C --dumps <dump> --end-model K --engine E` in its own process, into a temporary MLflow store,
with an empty embedding cache.
Peak memory is sampled every second over the whole process tree (train.py, its label workers, Spark's JVM and
Python workers) as the sum of their PSS (pages shared between processes counted once). Step times come from
train.py's own `[   t s]` lines (its whole output is kept in
/tmp/bench-train-scale-<papers>-<end model>-<engine>.log). --quick: 300 papers, the quick config without its gold.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from harness import REPO, quick_config, run, start, synthetic_dump

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


def run_sampled(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
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
    ends = [began for began, _ in marks[1:]] + [total]
    seconds: dict[str, float] = {}
    for (began, step), end in zip(marks, ends, strict=True):
        seconds[step] = seconds.get(step, 0.0) + end - began
    return seconds


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: (
        parser.add_argument("--papers", type=int, nargs="+", default=[10_000, 100_000]),
        parser.add_argument("--end-model", default="tfidf"),
        parser.add_argument("--engine", nargs="+", default=["local"]),
        parser.add_argument("--config", default=str(REPO / "configs" / "default.yaml")),
        parser.add_argument("extra", nargs="*", help="more train.py flags (after --)")))
    if args.quick:
        args.papers, args.config, args.extra = [300], str(quick_config()), [*args.extra, "--no-gold"]
    names = list(dict.fromkeys(STEPS.values()))
    rows = []
    for papers in args.papers:
        dump = synthetic_dump(papers)
        for engine in args.engine:
            with tempfile.TemporaryDirectory(prefix="bench-train-scale-") as store:
                env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{store}/mlruns.db",
                       "XDG_CACHE_HOME": store}  # a cold embedding cache: every run embeds its sample
                command = [sys.executable, "train.py", "--config", args.config, "--dumps", str(dump),
                           "--end-model", args.end_model, "--engine", engine, *args.extra]
                seconds, peak, stderr = run_sampled(command, env)
            steps = step_seconds(stderr, seconds)
            rows.append({"papers": papers, "end model": args.end_model, "engine": engine, "minutes": seconds / 60,
                         "peak memory (PSS) GB": peak / 2**30} | {f"{name} s": steps.get(name) for name in names})
            print(rows[-1], flush=True)
            log = Path(tempfile.gettempdir()) / f"bench-train-scale-{papers}-{args.end_model}-{engine}.log"
            log.write_text(stderr)
            print(f"train.py output: {log}", file=sys.stderr)
    report.table("train.py on synthetic dumps", rows)
    return report.write()


if __name__ == "__main__":
    run(main)
