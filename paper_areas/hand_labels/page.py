"""The labelling page: a label sheet served on 127.0.0.1, one paper at a time, each answer written to the sheet as it
is given (atomically: a killed server loses no answer) and the sheet resumed where it was left.

Starlette and uvicorn, which MLflow's server already installs: `GET /` the page, `GET /api/state` the paper to
label and the progress, `POST /api/answer` `{"id", "label"}` (an area's name or slug, or `(skipped)`),
`POST /api/undo` clears the last answer.
"""

from __future__ import annotations

import threading
from importlib.resources import files
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse
from starlette.routing import Route

from labeling import Taxonomy
from paper_areas.hand_labels.sheets import SKIPPED, SheetError, read_sheet

PAGE = files("paper_areas.hand_labels").joinpath("page.html")


class LabellingSession:
    """A sheet being labelled: the paper shown is the first without an answer; undo takes back the last answer
    (this session's, else the last answered row of the file)."""

    def __init__(self, path: str | Path, taxonomy: Taxonomy):
        self.sheet = read_sheet(path)
        if self.sheet.format == "label-studio":
            raise SheetError(f"{path}: Label Studio tasks are labelled in Label Studio (its JSON export is read back); "
                             "the page labels a .csv or .jsonl sheet")
        self.taxonomy = taxonomy
        for row in self.sheet.rows:
            if row.label and row.label != SKIPPED:
                self._area(row.label, f"{path}:{row.line}")
        self.history = [i for i, row in enumerate(self.sheet.rows) if row.answered]
        self._lock = threading.Lock()

    def _area(self, label: str, where: str) -> str:
        """The area name `label` names (a name or slug); SheetError naming `where` when none."""
        try:
            return self.taxonomy.names[self.taxonomy.index(label)]
        except KeyError:
            raise SheetError(f"{where}: label {label!r} is not an area of taxonomy {self.taxonomy.name!r}") from None

    def current(self) -> int | None:
        return next((i for i, row in enumerate(self.sheet.rows) if not row.answered), None)

    def state(self) -> dict[str, Any]:
        """The paper to label (None when all are answered), the areas and the progress."""
        index = self.current()
        paper = None
        if index is not None:
            row = self.sheet.rows[index]
            suggested = [self._area(name, "suggested") for name in row.suggestions() if self._known(name)]
            paper = {"id": row.id, "title": row.title, "abstract": row.abstract, "suggested": suggested,
                     "chosen_by": row.chosen_by, "position": index + 1}
        answered = sum(row.answered for row in self.sheet.rows)
        return {"sheet": str(self.sheet.path), "taxonomy": self.taxonomy.name, "areas": self.taxonomy.names,
                "paper": paper, "total": len(self.sheet.rows), "answered": answered,
                "labelled": sum(row.answered and row.label != SKIPPED for row in self.sheet.rows),
                "can_undo": bool(self.history)}

    def _known(self, name: str) -> bool:
        try:
            self.taxonomy.index(name)
        except KeyError:
            return False
        return True

    def answer(self, paper_id: str, label: str) -> dict[str, Any]:
        """Label the paper `paper_id` (it must be unanswered) with an area or `(skipped)`; write the sheet."""
        with self._lock:
            index = next((i for i, row in enumerate(self.sheet.rows) if row.id == paper_id), None)
            if index is None:
                raise KeyError(f"no paper {paper_id!r} in {self.sheet.path}")
            row = self.sheet.rows[index]
            if row.answered:
                raise ValueError(f"paper {paper_id!r} is answered already ({row.label})")
            row.label = SKIPPED if label == SKIPPED else self._area(label, "answer")
            self.history.append(index)
            self._write()
            return self.state()

    def undo(self) -> dict[str, Any]:
        """Clear the last answer (nothing to undo: no change); write the sheet."""
        with self._lock:
            if self.history:
                self.sheet.rows[self.history.pop()].label = ""
                self._write()
            return self.state()

    def _write(self) -> None:
        self.sheet.write(self.taxonomy)


def labelling_app(session: LabellingSession) -> Starlette:
    """The page and its JSON API over `session`."""

    def page(request: Request) -> HTMLResponse:
        return HTMLResponse(PAGE.read_text(encoding="utf-8"))

    def state(request: Request) -> JSONResponse:
        return JSONResponse(session.state())

    async def answer(request: Request) -> JSONResponse:
        body = await request.json()
        try:
            return JSONResponse(session.answer(str(body.get("id", "")), str(body.get("label", ""))))
        except KeyError as error:
            return JSONResponse({"error": error.args[0]}, status_code=404)
        except (ValueError, SheetError) as error:
            return JSONResponse({"error": str(error)}, status_code=409 if isinstance(error, ValueError) else 400)

    def undo(request: Request) -> JSONResponse:
        return JSONResponse(session.undo())

    return Starlette(routes=[Route("/", page), Route("/api/state", state), Route("/api/answer", answer,
                                                                                methods=["POST"]),
                             Route("/api/undo", undo, methods=["POST"])])


def serve(session: LabellingSession, port: int) -> None:
    """Serve the page on http://127.0.0.1:`port` until Ctrl-C or SIGTERM."""
    import uvicorn

    uvicorn.run(labelling_app(session), host="127.0.0.1", port=port, log_level="warning")
