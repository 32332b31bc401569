"""CLI: python -m dumps FILE... [--format F] [--output papers.jsonl]"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import deque
from collections.abc import Iterable
from pathlib import Path

from dumps.errors import DumpError
from dumps.formats import FORMATS
from dumps.reader import read_dumps
from dumps.records import Paper


def write_jsonl(papers: Iterable[Paper], output: Path) -> None:
    """Write one JSON object per paper; the file appears only when every paper was written."""
    partial = output.with_name(output.name + ".partial")
    try:
        with partial.open("w", encoding="utf-8") as stream:
            for paper in papers:
                stream.write(json.dumps(paper.to_dict(), ensure_ascii=False) + "\n")
        os.replace(partial, output)
    finally:
        partial.unlink(missing_ok=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dumps", description="Read paper dumps into clean records.")
    parser.add_argument("files", nargs="+", metavar="FILE", help="dump files (plain or gzip)")
    parser.add_argument("--format", choices=FORMATS, help="skip detection and read every file in this format")
    parser.add_argument("--output", type=Path, help="write the distinct papers here as JSONL")
    args = parser.parse_args(argv)
    reading = read_dumps(args.files, args.format)
    try:
        if args.output:
            write_jsonl(reading, args.output)
        else:
            deque(reading, maxlen=0)
    except DumpError as error:
        print(error, file=sys.stderr)
        return 2
    except OSError as error:
        print(f"{args.output}: cannot write: {error.strerror or error}", file=sys.stderr)
        return 2
    print(reading.summary())
    return 0


if __name__ == "__main__":
    sys.exit(main())
