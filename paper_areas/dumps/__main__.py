"""CLI: python -m paper_areas.dumps FILE... [--format F] [--output papers.jsonl] [--max-entry-bytes N]"""

from __future__ import annotations

import argparse
import json
import sys
from collections import deque
from pathlib import Path

from paper_areas.core import UserError, atomic_output, check_output_path, fail_cleanly, positive
from paper_areas.core.environment import set_run_environment
from paper_areas.dumps.formats import FORMATS
from paper_areas.dumps.reader import DEFAULT_MAX_ENTRY_BYTES, DumpReading, read_dumps


def write_jsonl(reading: DumpReading, output: Path) -> None:
    """Write one JSON object per paper; the file appears only when every paper was written, and never without any."""
    try:
        with atomic_output(output) as partial, partial.open("w", encoding="utf-8") as stream:
            for paper in reading:
                stream.write(json.dumps(paper.to_dict(), ensure_ascii=False) + "\n")
            reading.require_papers(output=output)
    except OSError as error:
        raise UserError(f"{output}: cannot write: {error.strerror or error}") from None


def main(argv: list[str] | None = None) -> int:
    set_run_environment()
    parser = argparse.ArgumentParser(prog="python -m paper_areas.dumps",
                                     description="Read paper dumps into clean records.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="dump files (plain or gzip; - for standard input)")
    parser.add_argument("--format", choices=FORMATS, help="skip detection and read every file in this format")
    parser.add_argument("--output", type=Path, help="write the distinct papers here as JSONL")
    parser.add_argument("--max-entry-bytes", type=positive, default=DEFAULT_MAX_ENTRY_BYTES,
                        help="skip (and count) longer entries (default: %(default)s)")
    args = parser.parse_args(argv)
    reading = read_dumps(args.files, args.format, args.max_entry_bytes)
    if args.output:
        check_output_path(args.output, args.files)
        write_jsonl(reading, args.output)
    else:
        deque(reading, maxlen=0)
        reading.require_papers()
    print(reading.summary())
    return 0


if __name__ == "__main__":
    sys.exit(fail_cleanly(main))
