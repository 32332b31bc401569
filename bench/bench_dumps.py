"""Reading throughput (MB/s of decompressed text) per format, gzip included, and peak memory on a big JSONL.

Run: .venv/bin/python bench/bench_dumps.py [--big-mb 200]
"""

from __future__ import annotations

import argparse
import gzip
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from paper_areas.dumps import read_dumps  # noqa: E402

CORPUS = REPO.parent / "shared" / "data" / "iclr2024-corpus.jsonl"
TEXT_TARGET_BYTES = 4_000_000
ROUNDS = 3


def repeated(seed: Path, folder: Path) -> Path:
    """The seed repeated to about TEXT_TARGET_BYTES (de-duplication then drops the repeats, as in real use)."""
    content = seed.read_bytes()
    path = folder / f"{seed.stem}-x{TEXT_TARGET_BYTES // len(content) + 1}.txt"
    path.write_bytes(b"\n\n".join([content] * (TEXT_TARGET_BYTES // len(content) + 1)))
    return path


def best_seconds(path: Path) -> tuple[float, int]:
    """Fastest of ROUNDS full reads, and the number of entries read."""
    times = []
    for _ in range(ROUNDS):
        start = time.perf_counter()
        reading = read_dumps([path])
        for _paper in reading:
            pass
        times.append(time.perf_counter() - start)
    return min(times), reading.files[0].entries


def big_jsonl(path: Path, megabytes: int) -> None:
    """Distinct synthetic arXiv-like records until the file reaches ``megabytes``."""
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
    """Peak RSS (MB) of a fresh process reading ``path`` fully, and of one that only imports dumps."""
    code = ("import resource; from dumps import read_dumps; {}; "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    read = f"reading = read_dumps([{str(path)!r}]); [0 for _ in reading]; print(reading.distinct)"
    results = [subprocess.run([sys.executable, "-c", code.format(body)], cwd=REPO, capture_output=True, text=True,
                              check=True).stdout for body in (read, "pass")]
    return tuple(int(result.split()[-1]) / 1024 for result in results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--big-mb", type=int, default=200, help="size of the synthetic JSONL for the memory check")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        cases = []
        if CORPUS.exists():
            cases.append(("jsonl (iclr2024-corpus)", CORPUS))
            gz = folder / "corpus.jsonl.gz"
            gz.write_bytes(gzip.compress(CORPUS.read_bytes()))
            cases.append(("jsonl.gz (iclr2024-corpus)", gz))
        seeds = sorted((REPO / "samples").glob("0*.txt"))
        for label, index in (("abstract-lines (000 repeated)", 0), ("hf-daily (001 repeated)", 1),
                             ("conference (003 repeated)", 3)):
            cases.append((label, repeated(seeds[index], folder)))
        for label, path in cases:
            seconds, entries = best_seconds(path)
            text_mb = (CORPUS if path.suffix == ".gz" else path).stat().st_size / 1e6
            rows.append(f"| {label} | {path.stat().st_size / 1e6:.1f} | {entries} | {seconds:.2f} | "
                        f"{text_mb / seconds:.0f} |")
        big = folder / "big.jsonl"
        big_jsonl(big, args.big_mb)
        start = time.perf_counter()
        reading_rss, baseline_rss = peak_rss_mb(big)
        seconds = time.perf_counter() - start
        size = big.stat().st_size / 1e6
    print("| input | MB on disk | entries | seconds | text MB/s |")
    print("|---|---:|---:|---:|---:|")
    print("\n".join(rows))
    print(f"\nBig synthetic JSONL: {size:.0f} MB read in {seconds:.1f} s (incl. process start); peak RSS "
          f"{reading_rss:.0f} MB vs {baseline_rss:.0f} MB for a process that only imports dumps.")


if __name__ == "__main__":
    main()
