"""A prediction run: dumps in, one prediction row a paper out, streamed in chunks with bounded memory."""

from __future__ import annotations

import sys
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from pathlib import Path
from typing import TextIO

from paper_areas.core import check_output_path
from paper_areas.core.progress import format_seconds
from paper_areas.dumps import DEFAULT_MAX_ENTRY_BYTES, DumpReading, chunks, papers_frame, read_dumps
from paper_areas.dumps.progress import InputProgress
from paper_areas.dumps.reader import read_start
from paper_areas.prediction.engines import LocalEngine, SparkEngine, prediction_params, require_pyspark
from paper_areas.prediction.model import DEFAULT_MODEL_URI, load_model, resolve_model_uri
from paper_areas.prediction.outputs import TAXONOMY_COLUMN, PredictionWriter, output_format, prediction_rows
from paper_areas.tracking import DEFAULT_TRACKING_URI

ENGINES = ("local", "spark")


@dataclass
class PredictionSummary:
    output: Path
    reading: DumpReading  # per-file entries and skips, duplicates
    areas: Counter[str]  # area name -> papers
    seconds: float
    taxonomy: str | None = None  # the name of the model's taxonomy (None: the model does not say)

    @property
    def papers(self) -> int:
        return sum(self.areas.values())

    def report(self) -> str:
        """The input summary, then the area counts, most frequent first, under the model's taxonomy."""
        taxonomy = f"of taxonomy {self.taxonomy!r}" if self.taxonomy else "(the model does not name its taxonomy)"
        lines = [self.reading.summary(), f"{self.papers:,} papers -> {self.output} in {format_seconds(self.seconds)}",
                 f"areas {taxonomy}:"]
        lines += [f"  {count:>8,}  {count / self.papers:6.1%}  {area}" for area, count in self.areas.most_common()]
        return "\n".join(lines)


def predict_dumps(inputs: Sequence[str | Path], output: str | Path, model_uri: str = DEFAULT_MODEL_URI,
                  input_format: str | None = None, top_k: int = 3, batch_size: int = 512, engine: str = "local",
                  master: str | None = None, stream: TextIO = sys.stderr,
                  max_entry_bytes: int = DEFAULT_MAX_ENTRY_BYTES,
                  tracking_uri: str = DEFAULT_TRACKING_URI, explain: bool = False) -> PredictionSummary:
    """Predict the area of every paper of `inputs` (one row per id) into `output` (.jsonl, .csv or .parquet),
    atomically, with the model at `model_uri` (a registry or run URI in the store of `tracking_uri`). Entries longer
    than `max_entry_bytes` are skipped and counted. `explain` adds each paper's evidence (the keyword LFs that voted,
    by area; a model with a teacher only). Inputs without a single paper raise dumps.NoPapersError and write
    nothing; an output that is one of the inputs is refused (UserError)."""
    if engine not in ENGINES:
        raise ValueError(f"engine: must be one of {', '.join(ENGINES)}")
    output_format(output)
    check_output_path(output, inputs)
    for path in inputs:
        read_start(Path(path))  # an unreadable input fails now, not after hours of predicting
    if engine == "spark":
        require_pyspark()  # before the model loads
    model = load_model(model_uri, tracking_uri)
    params = prediction_params(model, model_uri, explain)
    runner = (SparkEngine(model, resolve_model_uri(model_uri, tracking_uri), master, batch_size, params)
              if engine == "spark" else LocalEngine(model, batch_size, params))
    # One row per id, not per title as in training: a paper without an id has the stable id of its normalised title
    # and abstract, so of those only repeats of both are dropped.
    reading = read_dumps(inputs, input_format, max_entry_bytes, key=attrgetter("id"))
    areas: Counter[str] = Counter()
    taxonomy = None
    progress = InputProgress(inputs, stream)
    try:
        with PredictionWriter(output) as writer:
            for chunk in chunks(reading, runner.chunk_size):
                papers = papers_frame(chunk)
                rows = prediction_rows(papers, runner.predict(papers), top_k)
                if TAXONOMY_COLUMN in rows:
                    taxonomy = str(rows[TAXONOMY_COLUMN].iloc[0])
                writer.write(rows)
                areas.update(rows["area_name"])
                progress.update(len(chunk), chunk[-1].source)
            reading.require_papers("no papers to predict", output)
    finally:
        seconds = progress.close()
    return PredictionSummary(Path(output), reading, areas, seconds, taxonomy)
