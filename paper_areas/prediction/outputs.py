"""Prediction rows (the model's area, confidence and top-k areas per paper) and their atomic writer."""

from __future__ import annotations

from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from models.pyfunc import EVIDENCE_COLUMN
from paper_areas.core import UserError, publish, temporary_beside

OUTPUT_FORMATS = ("jsonl", "csv", "parquet")
PROB_PREFIX = "prob_"
TAXONOMY_COLUMN = "taxonomy"  # of the pyfunc output (models.pyfunc), when the model was logged with its taxonomy
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula (OWASP)


class OutputError(UserError):
    """An output path that cannot be written; the message names it."""


def output_format(path: str | Path) -> str:
    """The output format named by the path's extension."""
    suffix = Path(path).suffix.lower().lstrip(".")
    if suffix not in OUTPUT_FORMATS:
        raise OutputError(f"{path}: unknown output extension (use .{', .'.join(OUTPUT_FORMATS)})")
    return suffix


def prediction_rows(papers: pd.DataFrame, predicted: pd.DataFrame, top_k: int) -> pd.DataFrame:
    """One row a paper: id, title, area, area_name, confidence, taxonomy (when the model names it), then
    `top<i>_area` / `top<i>_prob` for i <= k, then evidence (when asked for), from the pyfunc output `predicted`
    (`area`, `area_name`, `confidence`, maybe `taxonomy` and `evidence`, and a `prob_<slug>` column per area)."""
    prob_columns = [column for column in predicted.columns if column.startswith(PROB_PREFIX)]
    slugs = np.array([column.removeprefix(PROB_PREFIX) for column in prob_columns], dtype=object)
    probs = predicted[prob_columns].to_numpy(dtype=float)
    ranked = np.argsort(-probs, axis=1, kind="stable")[:, : min(top_k, len(prob_columns))]
    rows = pd.DataFrame({
        "id": papers["id"].to_numpy(),
        "title": papers["title"].to_numpy(),
        "area": predicted["area"].to_numpy(),
        "area_name": predicted["area_name"].to_numpy(),
        "confidence": predicted["confidence"].to_numpy(dtype=float),
    })
    if TAXONOMY_COLUMN in predicted:
        rows[TAXONOMY_COLUMN] = predicted[TAXONOMY_COLUMN].to_numpy()
    for rank in range(ranked.shape[1]):
        rows[f"top{rank + 1}_area"] = slugs[ranked[:, rank]]
        rows[f"top{rank + 1}_prob"] = np.take_along_axis(probs, ranked[:, rank : rank + 1], axis=1)[:, 0]
    if EVIDENCE_COLUMN in predicted:
        rows[EVIDENCE_COLUMN] = predicted[EVIDENCE_COLUMN].to_numpy()
    return rows


def spreadsheet_safe(rows: pd.DataFrame) -> pd.DataFrame:
    """`rows` with every text cell that a spreadsheet would run as a formula prefixed with a quote (OWASP's rule
    against CSV injection)."""
    def defused(cell: object) -> object:
        return f"'{cell}" if isinstance(cell, str) and cell.startswith(FORMULA_STARTS) else cell

    text_columns = rows.select_dtypes(include=["object", "string"]).columns
    return rows.assign(**{column: rows[column].map(defused) for column in text_columns})


class PredictionWriter:
    """Writes row chunks to a hidden temporary file beside `path`, renamed to `path` only on `commit`: as a context
    manager, a clean exit commits and an exception (Ctrl-C and SIGTERM included) discards; a killed process leaves no
    file under the final name (the next writer of `path` deletes its temporary). CSV cells are `spreadsheet_safe`."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.format = output_format(self.path)
        try:
            self.temp = temporary_beside(self.path)
        except OSError as error:
            raise OutputError(f"{self.path}: cannot write there ({error.strerror})") from None
        self.rows = 0
        self._text: IO[str] | None = None
        self._parquet: pq.ParquetWriter | None = None

    def write(self, rows: pd.DataFrame) -> None:
        """Append a chunk of prediction rows."""
        if self.format == "parquet":
            table = pa.Table.from_pandas(rows, preserve_index=False)
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.temp, table.schema)
            self._parquet.write_table(table.cast(self._parquet.schema))
        else:
            first = self._text is None
            if first:
                self._text = open(self.temp, "w", encoding="utf-8", newline="")  # closed in _close
            if self.format == "csv":
                spreadsheet_safe(rows).to_csv(self._text, header=first, index=False)
            elif len(rows):
                self._text.write(rows.to_json(orient="records", lines=True, force_ascii=False).rstrip("\n") + "\n")
        self.rows += len(rows)

    def _close(self) -> None:
        if self._parquet is not None:
            self._parquet.close()
        if self._text is not None:
            self._text.close()

    def commit(self) -> Path:
        """Close the temporary file and move it to the final path (when nothing was written: discard, ValueError)."""
        if self._parquet is None and self._text is None:
            self.discard()
            raise ValueError(f"{self.path}: no rows were written, so the file would have no columns")
        self._close()
        publish(self.temp, self.path)
        return self.path

    def discard(self) -> None:
        """Close and delete the temporary file; the final path is left as it was."""
        self._close()
        self.temp.unlink(missing_ok=True)

    def __enter__(self) -> PredictionWriter:
        return self

    def __exit__(self, kind, error, traceback) -> None:
        if kind is None:
            self.commit()
        else:
            self.discard()
