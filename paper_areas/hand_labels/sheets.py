"""Label sheets: the papers chosen for labelling, written for a person to label and read back with their labels.

A sheet is CSV or JSONL (by extension), one paper per row: `id`, `title`, `abstract`, `suggested` (the model's top
areas), `chosen_by` (why the paper was chosen: `representative`, `uncertain` or `random`) and `label`, empty until
labelled (an area's name or slug; `(skipped)` for a paper the labeller passed over). The labelling page and a
spreadsheet fill the `label` column. A `.json` sheet is Label Studio's: tasks with the suggested area as a
pre-annotation written, its JSON export read back (the last annotation of a task that was not cancelled).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from labeling import Taxonomy
from paper_areas.core import UserError, read_utf8, write_output

COLUMNS = ("id", "title", "abstract", "suggested", "chosen_by", "label")
REQUIRED = ("id", "title", "abstract", "label")
SKIPPED = "(skipped)"
CHOSEN_BY = ("representative", "uncertain", "random")
SUGGESTION_SEPARATOR = "; "
FORMATS = {".csv": "csv", ".jsonl": "jsonl", ".json": "label-studio"}
LABEL_STUDIO_FROM, LABEL_STUDIO_TO = "area", "text"  # the names in the labelling config `label_studio_config` writes


class SheetError(UserError):
    """A label sheet that cannot be read or does not fit the taxonomy; the message names file:line."""


@dataclass
class Row:
    """One paper of a sheet and the line it starts on."""

    line: int
    id: str
    title: str
    abstract: str
    suggested: str = ""
    chosen_by: str = ""
    label: str = ""

    def fields(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in COLUMNS}

    @property
    def answered(self) -> bool:
        """Labelled with an area or skipped."""
        return bool(self.label)

    def suggestions(self) -> list[str]:
        """The suggested areas, most likely first (names as written, without their probabilities)."""
        return [item.rsplit(" (", 1)[0] for item in self.suggested.split(SUGGESTION_SEPARATOR) if item]


@dataclass
class Sheet:
    path: Path
    rows: list[Row] = field(default_factory=list)

    @property
    def format(self) -> str:
        return sheet_format(self.path)

    def write(self, taxonomy: Taxonomy | None = None) -> None:
        """Write the sheet atomically in its format (Label Studio tasks need the taxonomy, for the pre-annotation)."""
        write_output(self.path, render(self.rows, self.format, taxonomy))


def sheet_format(path: str | Path) -> str:
    """`csv`, `jsonl` or `label-studio`, by the file's extension; SheetError for any other."""
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise SheetError(f"{path}: a label sheet is .csv, .jsonl or .json (Label Studio), not {suffix or 'no suffix'}")
    return FORMATS[suffix]


def render(rows: Iterable[Row], kind: str, taxonomy: Taxonomy | None = None) -> str:
    """The text of a sheet of `rows` in format `kind`."""
    rows = list(rows)
    if kind == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(row.fields() for row in rows)
        return out.getvalue()
    if kind == "jsonl":
        return "".join(json.dumps(row.fields(), ensure_ascii=False) + "\n" for row in rows)
    if taxonomy is None:
        raise ValueError("Label Studio tasks need the taxonomy")
    return json.dumps([_label_studio_task(row, taxonomy) for row in rows], ensure_ascii=False, indent=1) + "\n"


def read_sheet(path: str | Path) -> Sheet:
    """The rows of the sheet at `path`; SheetError naming file:line for a row without an id or text, an id twice, a
    missing column, or text that is not a sheet."""
    path = Path(path)
    kind = sheet_format(path)
    text = read_utf8(path, SheetError).removeprefix("\ufeff")  # spreadsheets save CSV with a byte-order mark
    records = {"csv": _csv_records, "jsonl": _jsonl_records, "label-studio": _label_studio_records}[kind](text, path)
    sheet, first_line = Sheet(path), {}
    for line, record in records:
        row = _row(record, path, line)
        if row.id in first_line:
            raise SheetError(f"{path}:{line}: paper id {row.id!r} again (first on line {first_line[row.id]})")
        first_line[row.id] = line
        sheet.rows.append(row)
    return sheet


def _row(record: dict[str, Any], path: Path, line: int) -> Row:
    values = {name: "" if record.get(name) is None else str(record[name]).strip() for name in COLUMNS}
    if not values["id"]:
        raise SheetError(f"{path}:{line}: a paper without an id")
    if not (values["title"] or values["abstract"]):
        raise SheetError(f"{path}:{line}: paper {values['id']!r} has neither a title nor an abstract")
    return Row(line, **values)


def _csv_records(text: str, path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    missing = [name for name in REQUIRED if name not in (reader.fieldnames or [])]
    if missing:
        raise SheetError(f"{path}:1: no {', '.join(missing)} column (a sheet's header names {', '.join(COLUMNS)})")
    line = 1
    for record in reader:
        yield line + 1, record
        line = reader.line_num


def _jsonl_records(text: str, path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    for line, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw)
        except json.JSONDecodeError as error:
            raise SheetError(f"{path}:{line}: not JSON ({error.msg})") from None
        if not isinstance(record, dict):
            raise SheetError(f"{path}:{line}: a row is a JSON object, not {type(record).__name__}")
        yield line, record


def _label_studio_records(text: str, path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """Label Studio tasks (an import file or an export): each task's data, with its answer as `label`."""
    for line, task in _json_array(text, path):
        data = task.get("data")
        if not isinstance(data, dict):
            raise SheetError(f"{path}:{line}: a Label Studio task without `data`")
        yield line, {**data, "label": _label_studio_answer(task, path, line)}


def _json_array(text: str, path: Path) -> Iterable[tuple[int, dict[str, Any]]]:
    """The objects of a JSON array, each with the line it starts on."""
    decoder, position = json.JSONDecoder(), _skip_space(text, 0)
    if not text.startswith("[", position):
        raise SheetError(f"{path}:{text.count(chr(10), 0, position) + 1}: a Label Studio file is a JSON array of tasks")
    position = _skip_space(text, position + 1)
    while not text.startswith("]", position):
        line = text.count("\n", 0, position) + 1
        try:
            item, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as error:
            raise SheetError(f"{path}:{error.lineno}: not JSON ({error.msg})") from None
        if not isinstance(item, dict):
            raise SheetError(f"{path}:{line}: a task is a JSON object, not {type(item).__name__}")
        yield line, item
        position = _skip_space(text, position)
        if text.startswith(",", position):
            position = _skip_space(text, position + 1)
        elif not text.startswith("]", position):
            raise SheetError(f"{path}:{text.count(chr(10), 0, position) + 1}: expected , or ] between tasks")


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position].isspace():
        position += 1
    return position


def _label_studio_answer(task: dict[str, Any], path: Path, line: int) -> str:
    """The area chosen in the task's last annotation that was not cancelled; `(skipped)` when every annotation
    was cancelled; "" when there is none."""
    annotations = task.get("annotations") or []
    kept = [annotation for annotation in annotations if not annotation.get("was_cancelled")]
    if not kept:
        return SKIPPED if annotations else ""
    choices = [choice for result in kept[-1].get("result") or [] if result.get("type") == "choices"
               for choice in (result.get("value") or {}).get("choices") or []]
    if len(choices) != 1:
        raise SheetError(f"{path}:{line}: task {task.get('id', '?')}: an annotation chooses {len(choices)} areas "
                         "(one is a label)")
    return choices[0]


def _label_studio_task(row: Row, taxonomy: Taxonomy) -> dict[str, Any]:
    """An import task: the paper (with `text`, what the labelling config shows) and the top suggestion as a
    pre-annotation (no suggestion: none)."""
    task: dict[str, Any] = {"data": {name: getattr(row, name) for name in ("id", "title", "abstract", "suggested",
                                                                          "chosen_by")}}
    task["data"]["text"] = f"{row.title}\n\n{row.abstract}".strip()
    suggestions = row.suggestions()
    if suggestions:
        area = taxonomy.names[taxonomy.index(suggestions[0])]
        task["predictions"] = [{"model_version": "paper-areas", "result": [{
            "from_name": LABEL_STUDIO_FROM, "to_name": LABEL_STUDIO_TO, "type": "choices",
            "value": {"choices": [area]}}]}]
    return task


def label_studio_config(taxonomy: Taxonomy) -> str:
    """Label Studio's labelling config for these tasks: the paper's text and one choice per area."""
    choices = "\n".join(f'    <Choice value="{_xml_attribute(name)}"/>' for name in taxonomy.names)
    return (f'<View>\n  <Text name="{LABEL_STUDIO_TO}" value="$text"/>\n'
            f'  <Choices name="{LABEL_STUDIO_FROM}" toName="{LABEL_STUDIO_TO}" choice="single" showInline="false">\n'
            f"{choices}\n  </Choices>\n</View>\n")


def _xml_attribute(text: str) -> str:
    return text.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;").replace(">", "&gt;")


@dataclass
class HandLabels:
    """Papers labelled by hand: `frame` (`id`, `title`, `abstract`, `chosen_by`, `source` as file:line) and `y`, the
    area index of each."""

    frame: pd.DataFrame
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


def read_hand_labels(paths: Iterable[str | Path], taxonomy: Taxonomy) -> HandLabels:
    """The labelled papers of the sheets at `paths` (unlabelled and skipped rows left out); a label that is not an
    area of `taxonomy`, or one paper labelled twice with different areas, raises SheetError naming file:line."""
    kept: dict[str, tuple[Row, str, int]] = {}
    for path in paths:
        for row in read_sheet(path).rows:
            if row.label in ("", SKIPPED):
                continue
            source = f"{path}:{row.line}"
            try:
                area = taxonomy.index(row.label)
            except KeyError:
                raise SheetError(f"{source}: label {row.label!r} is not an area of taxonomy "
                                 f"{taxonomy.name!r}") from None
            if row.id in kept and kept[row.id][2] != area:
                raise SheetError(f"{source}: paper {row.id!r} labelled {row.label!r}, but "
                                 f"{taxonomy.names[kept[row.id][2]]!r} at {kept[row.id][1]}")
            kept.setdefault(row.id, (row, source, area))
    frame = pd.DataFrame([{"id": row.id, "title": row.title, "abstract": row.abstract, "chosen_by": row.chosen_by,
                           "source": source} for row, source, _ in kept.values()],
                         columns=["id", "title", "abstract", "chosen_by", "source"])
    return HandLabels(frame, np.array([area for *_, area in kept.values()], dtype=int))
