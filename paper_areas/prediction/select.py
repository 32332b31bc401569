"""`train.py select`: the papers worth labelling by hand, chosen from a pool with a trained model, written as a label
sheet (`paper_areas.hand_labels`)."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from labeling import Taxonomy, load_taxonomy
from models import CalibratedClassifier, ProbabilisticClassifier, averaged, frame_texts, teacher_of
from paper_areas.core import UserError, check_output_path, write_output
from paper_areas.hand_labels import (
    SUGGESTION_SEPARATOR,
    Pool,
    Row,
    Sheet,
    choose,
    label_studio_config,
    read_hand_labels,
    read_sheet,
    sheet_format,
    text_features,
)
from paper_areas.pipeline.config import TrainConfig
from paper_areas.pipeline.data import read_papers
from paper_areas.prediction.model import load_model
from paper_areas.tracking import champion_uri

SUGGESTIONS = 3  # areas suggested per paper, most likely first


@dataclass
class Selection:
    sheet: Sheet
    n_pool: int
    n_labelled: int


def pool_view(classifier: ProbabilisticClassifier, frame: pd.DataFrame) -> Pool:
    """The served probabilities on `frame` and, with a teacher, where it and the end model disagree (a paper with
    a keyword vote whose top areas differ); the end model's pass is made once."""
    taught = teacher_of(classifier)
    if taught is None:
        probabilities = classifier.predict_proba(frame)
        return Pool(probabilities, np.zeros(len(frame), dtype=bool))
    student, teacher, voted = taught.parts(frame)
    served = averaged(student, teacher, voted, taught.weight)
    if classifier is not taught:  # wrapped: calibrated (a map on top), else whatever it is, predicted again
        inner = classifier.model if isinstance(classifier, CalibratedClassifier) else None
        served = classifier.calibrator.transform(served) if inner is taught else classifier.predict_proba(frame)
    return Pool(served, voted & (student.argmax(axis=1) != teacher.argmax(axis=1)))


def suggestions(probabilities: np.ndarray, names: list[str]) -> list[str]:
    """Per paper, its `SUGGESTIONS` most likely areas as "Name (0.41); Name (0.22); ..."."""
    top = np.argsort(-probabilities, axis=1, kind="stable")[:, :SUGGESTIONS]
    return [SUGGESTION_SEPARATOR.join(f"{names[k]} ({row[k]:.2f})" for k in ranked)
            for row, ranked in zip(probabilities, top, strict=True)]


def unlabelled_pool(frame: pd.DataFrame, sheets: list[Sheet]) -> pd.DataFrame:
    """The papers of `frame` in none of `sheets` (by id, or by title), reindexed."""
    ids = {row.id for sheet in sheets for row in sheet.rows}
    titles = {row.title.casefold() for sheet in sheets for row in sheet.rows if row.title}
    seen = frame["id"].isin(ids) | frame["title"].str.casefold().isin(titles)
    return frame[~seen].reset_index(drop=True)


def select(config: TrainConfig, n: int, output: str, pool_paths: list[str] | None = None,
           labelled_paths: list[str] | None = None, model_uri: str | None = None, seed: int = 0) -> Selection:
    """Choose `n` papers of the pool (default: the config's dumps) not in the `labelled_paths` sheets, with the
    model `model_uri` (default: the config's champion), and write them as the sheet `output`."""
    sheet_format(output)
    labelled_paths = labelled_paths or []
    pool_paths = pool_paths or config.dumps
    check_output_path(output, [*pool_paths, *labelled_paths])
    taxonomy = load_taxonomy(config.taxonomy)
    hand = read_hand_labels(labelled_paths, taxonomy)  # checks every label against the taxonomy
    earlier = [read_sheet(path) for path in labelled_paths]
    frame = unlabelled_pool(read_papers(pool_paths), earlier)
    if not len(frame):
        raise UserError(f"no paper of {', '.join(pool_paths)} is left to label: all are in "
                        f"{', '.join(labelled_paths)}")
    uri = model_uri or champion_uri(config.mlflow.registered_model, config.mlflow.champion_alias)
    classifier = load_model(uri, config.mlflow.tracking_uri).unwrap_python_model().classifier
    _check_model_taxonomy(classifier, frame.head(1), taxonomy, uri)
    print(f"scoring {len(frame)} papers with {uri}", file=sys.stderr)
    pool = pool_view(classifier, frame)
    features = text_features(frame_texts(pd.concat([frame, hand.frame], ignore_index=True)), seed)
    chosen = choose(features[: len(frame)], pool, n, len(taxonomy.areas), features[len(frame):], seed=seed)
    sheet = Sheet(Path(output), _rows(frame, pool, chosen, taxonomy))
    sheet.write(taxonomy)
    if sheet.format == "label-studio":
        write_output(Path(output).with_suffix(".xml"), label_studio_config(taxonomy))
    return Selection(sheet, len(frame), len(hand))


def _check_model_taxonomy(classifier: ProbabilisticClassifier, probe: pd.DataFrame, taxonomy: Taxonomy,
                          uri: str) -> None:
    areas = classifier.predict_proba(probe).shape[1]
    if areas != len(taxonomy.areas):
        raise UserError(f"model {uri} predicts {areas} areas, taxonomy {taxonomy.name!r} has "
                        f"{len(taxonomy.areas)} (select with the model trained on this config)")


def _rows(frame: pd.DataFrame, pool: Pool, chosen: pd.DataFrame, taxonomy: Taxonomy) -> list[Row]:
    picked = frame.iloc[chosen["row"]]
    suggested = suggestions(pool.probabilities[chosen["row"]], taxonomy.names)
    return [Row(line, paper.id, paper.title, paper.abstract, suggested=text, chosen_by=why)
            for line, (paper, text, why) in enumerate(zip(picked.itertuples(), suggested, chosen["chosen_by"],
                                                          strict=True), 2)]


def run_select(config: TrainConfig, n: int, output: str, pool_paths: list[str] | None, labelled_paths: list[str] | None,
               model_uri: str | None, seed: int) -> int:
    """`train.py select`: choose, write, and say what was written and what to do next."""
    done = select(config, n, output, pool_paths, labelled_paths, model_uri, seed)
    counts = pd.Series([row.chosen_by for row in done.sheet.rows]).value_counts()
    shares = ", ".join(f"{counts.get(name, 0)} {name}" for name in ("representative", "uncertain", "random"))
    print(f"wrote {output}: {len(done.sheet.rows)} papers to label ({shares}) of {done.n_pool} unlabelled "
          f"({done.n_labelled} labelled already)", file=sys.stderr)
    if done.sheet.format == "label-studio":
        print(f"Label Studio: a project with the labelling config {Path(output).with_suffix('.xml')}, import "
              f"{output}; its JSON export is a sheet train.py reads back", file=sys.stderr)
    else:
        print(f"next: train.py label --input {output}   (or fill its label column in a spreadsheet)", file=sys.stderr)
    return 0

