"""Reading throughput (MB/s of decompressed text) per format, gzip included, and peak memory on a big JSONL.

    .venv/bin/python bench/bench_dumps.py [--big-mb 200] [--quick]

Best of 3 full reads per input, de-duplication included; the text seeds are repeated to about 4 MB (most of their
entries are then dropped as duplicates, as the reader must still parse them). Peak memory: a fresh process reading
a synthetic JSONL of --big-mb against one that only imports the reader. --quick: 0.2 MB seeds, one read, a 2 MB
JSONL, no corpus.
"""

from __future__ import annotations

import gzip
import json
import sys
import tempfile
from pathlib import Path

from harness import SAMPLES, run, run_process, shared_data, start, timed

from paper_areas.dumps import read_dumps


def repeated(seed: Path, folder: Path, target_bytes: int) -> Path:
    """The seed repeated to about `target_bytes`."""
    content = seed.read_bytes()
    copies = target_bytes // len(content) + 1
    path = folder / f"{seed.stem}-x{copies}.txt"
    path.write_bytes(b"\n\n".join([content] * copies))
    return path


def best_seconds(path: Path, rounds: int) -> tuple[float, int]:
    """Fastest of `rounds` full reads, and the number of entries read."""
    times = []
    for _ in range(rounds):
        reading = read_dumps([path])
        seconds, _ = timed(lambda reading=reading: [0 for _paper in reading])
        times.append(seconds)
    return min(times), reading.files[0].entries


def big_jsonl(path: Path, megabytes: float) -> None:
    """Distinct synthetic arXiv-like records until the file reaches `megabytes`."""
    words = "graph neural network training data model learning robust efficient sparse attention".split()
    with path.open("w", encoding="utf-8") as stream:
        number = 0
        while stream.tell() < megabytes * 1_000_000:
            number += 1
            abstract = " ".join(words[(number * k) % len(words)] for k in range(1, 160))
            record = {"id": f"syn{number}", "title": f"Synthetic paper {number} on {words[number % 11]}",
                      "abstract": abstract, "authors": "A. Author, B. Author and C. Author",
                      "update_date": "2024-01-02", "categories": "cs.LG"}
            stream.write(json.dumps(record) + "\n")


def peak_rss_mb(path: Path) -> tuple[float, float]:
    """Peak RSS (MB) of a fresh process reading `path` fully, and of one that only imports the reader."""
    read = f"reading = read_dumps([{str(path)!r}]); [0 for _ in reading]"
    return tuple(run_process([sys.executable, "-c", f"from paper_areas.dumps import read_dumps; {body}"])[1]
                 for body in (read, "pass"))


def main(argv: list[str] | None = None):
    args, report = start(__file__, __doc__, argv, lambda parser: parser.add_argument(
        "--big-mb", type=float, default=200, help="size of the synthetic JSONL for the memory check"))
    rounds, seed_bytes, big_mb = (1, 200_000, 2) if args.quick else (3, 4_000_000, args.big_mb)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = []
        if not args.quick:
            corpus = shared_data("iclr2024-corpus.jsonl")
            gz = folder / "corpus.jsonl.gz"
            gz.write_bytes(gzip.compress(corpus.read_bytes()))
            cases += [("jsonl (iclr2024-corpus)", corpus, corpus), ("jsonl.gz (iclr2024-corpus)", gz, corpus)]
        for label, index in (("abstract-lines (000 repeated)", 0), ("hf-daily (001 repeated)", 1),
                             ("conference (003 repeated)", 3)):
            path = repeated(SAMPLES[index], folder, seed_bytes)
            cases.append((label, path, path))
        for label, path, text in cases:
            seconds, entries = best_seconds(path, rounds)
            rows.append({"input": label, "MB on disk": round(path.stat().st_size / 1e6, 1), "entries": entries,
                         "seconds": seconds, "text MB/s": round(text.stat().st_size / 1e6 / seconds, 1)})
        big = folder / "big.jsonl"
        big_jsonl(big, big_mb)
        seconds, (reading_rss, baseline_rss) = timed(lambda: peak_rss_mb(big))
        size = big.stat().st_size / 1e6
    report.table("reading", rows)
    report.note(big_jsonl_mb=round(size), big_jsonl_seconds_with_process_start=round(seconds, 1),
                big_jsonl_peak_rss_mb=round(reading_rss), import_only_peak_rss_mb=round(baseline_rss))
    return report.write()


if __name__ == "__main__":
    run(main)
