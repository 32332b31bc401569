"""Issue 28: label sheets (CSV, JSONL, Label Studio in and out, one-line errors naming file:line) and the choice of
papers worth labelling (representative first, never a labelled paper, the random share), through `train.py select`."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from labeling import load_taxonomy
from paper_areas.hand_labels import (
    RANDOM_SHARE,
    SKIPPED,
    Pool,
    Row,
    Sheet,
    SheetError,
    choose,
    label_studio_config,
    read_hand_labels,
    read_sheet,
    text_features,
)
from paper_areas.hand_labels.selection import REPRESENTATIVE_PER_AREA
from paper_areas.pipeline.config import DEFAULT_TAXONOMY, REPO

TAXONOMY = load_taxonomy(DEFAULT_TAXONOMY)
NAMES, SLUGS = TAXONOMY.names, TAXONOMY.slugs


def rows(labels: list[str]) -> list[Row]:
    return [Row(i + 2, f"p{i}", f"Title {i}", f"Abstract {i}.", suggested=f"{NAMES[i]} (0.50); {NAMES[i + 1]} (0.30)",
                chosen_by="random", label=label) for i, label in enumerate(labels)]


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_sheet_round_trips_and_its_labels_are_read_by_name_or_slug(tmp_path, suffix):
    path = tmp_path / f"sheet{suffix}"
    Sheet(path, rows([NAMES[3], "", SLUGS[5], SKIPPED])).write()
    sheet = read_sheet(path)
    assert [row.label for row in sheet.rows] == [NAMES[3], "", SLUGS[5], SKIPPED]
    assert sheet.rows[0].suggestions() == [NAMES[0], NAMES[1]]
    hand = read_hand_labels([path], TAXONOMY)
    assert list(hand.frame["id"]) == ["p0", "p2"] and list(hand.y) == [3, 5]  # unlabelled and skipped left out
    assert list(hand.frame["source"]) == [f"{path}:2", f"{path}:4"] if suffix == ".csv" else [f"{path}:1", f"{path}:3"]


def test_a_spreadsheet_saved_csv_with_a_byte_order_mark_and_extra_columns_is_read(tmp_path):
    path = tmp_path / "sheet.csv"
    path.write_text("\ufeffid,title,abstract,label,notes\nx1,\"A title, with a comma\",\"Two\nlines\",Generative "
                    "models,mine\n", encoding="utf-8")
    hand = read_hand_labels([path], TAXONOMY)
    assert hand.frame.loc[0, "abstract"] == "Two\nlines" and hand.y.tolist() == [TAXONOMY.index("generative models")]


@pytest.mark.parametrize(("text", "message"), [
    ("id,title,abstract,label\np1,T,A,no such area\n", "sheet.csv:2: label 'no such area' is not an area of "
                                                       "taxonomy 'iclr2025'"),
    ("id,title,abstract,label\np1,T,A,\np1,T2,A2,\n", "sheet.csv:3: paper id 'p1' again (first on line 2)"),
    ("id,title,abstract,label\n,T,A,\n", "sheet.csv:2: a paper without an id"),
    ("id,title,abstract,label\np1,,,\n", "sheet.csv:2: paper 'p1' has neither a title nor an abstract"),
    ("id,title,label\np1,T,\n", "sheet.csv:1: no abstract column"),
])
def test_a_bad_sheet_gets_one_line_naming_file_and_line(tmp_path, text, message):
    path = tmp_path / "sheet.csv"
    path.write_text(text)
    with pytest.raises(SheetError) as error:
        read_hand_labels([path], TAXONOMY)
    assert str(error.value).startswith(f"{tmp_path}/{message}")


def test_one_paper_labelled_differently_in_two_sheets_is_refused_naming_both(tmp_path):
    first, second = tmp_path / "a.jsonl", tmp_path / "b.csv"
    Sheet(first, rows([NAMES[1]])).write()
    Sheet(second, rows([NAMES[2]])).write()
    with pytest.raises(SheetError, match=rf"{second}:2: paper 'p0' labelled .* but '{NAMES[1]}' at {first}:1"):
        read_hand_labels([first, second], TAXONOMY)
    with pytest.raises(SheetError, match="not .txt"):
        read_sheet(tmp_path / "sheet.txt")


def test_label_studio_tasks_carry_the_suggestion_and_its_export_is_read_back(tmp_path):
    tasks = tmp_path / "tasks.json"
    Sheet(tasks, rows(["", ""])).write(TAXONOMY)
    written = json.loads(tasks.read_text())
    assert written[0]["data"]["text"] == "Title 0\n\nAbstract 0."
    assert written[0]["predictions"][0]["result"][0]["value"] == {"choices": [NAMES[0]]}
    config = label_studio_config(TAXONOMY)
    assert config.count("<Choice ") == len(NAMES) and 'toName="text"' in config
    # What Label Studio exports: the tasks with their annotations (one cancelled, one not annotated at all).
    answer = {"result": [{"from_name": "area", "to_name": "text", "type": "choices", "value": {"choices": [NAMES[4]]}}]}
    exported = [{**written[0], "id": 7, "annotations": [answer]},
                {**written[1], "id": 8, "annotations": [{**answer, "was_cancelled": True}]},
                {"id": 9, "data": {"id": "p9", "title": "T", "abstract": "A"}, "annotations": []}]
    export = tmp_path / "export.json"
    export.write_text(json.dumps(exported, indent=2))
    assert [row.label for row in read_sheet(export).rows] == [NAMES[4], SKIPPED, ""]
    hand = read_hand_labels([export], TAXONOMY)
    assert hand.y.tolist() == [4] and hand.frame.loc[0, "id"] == "p0"
    second_task_line = export.read_text().splitlines().index("  {", 2) + 1
    exported[1]["annotations"] = [{"result": [*answer["result"], *answer["result"]]}]
    export.write_text(json.dumps(exported, indent=2))
    with pytest.raises(SheetError, match=rf"export.json:{second_task_line}: task 8: an annotation chooses 2 areas"):
        read_sheet(export)


def clustered_pool(n_per_cluster: list[int], seed: int = 0) -> np.ndarray:
    """Unit vectors in tight clusters along the axes, `n` papers each."""
    rng = np.random.default_rng(seed)
    points = [np.eye(len(n_per_cluster))[c] + rng.normal(0, 0.05, (n, len(n_per_cluster)))
              for c, n in enumerate(n_per_cluster)]
    stacked = np.concatenate(points)
    return stacked / np.linalg.norm(stacked, axis=1, keepdims=True)


def test_with_no_labels_one_representative_per_cluster_comes_first_then_a_random_share():
    sizes = [30, 25, 20, 15, 10]
    features = clustered_pool(sizes)
    cluster = np.repeat(np.arange(len(sizes)), sizes)
    pool = Pool(np.full((len(features), 3), 1 / 3), np.zeros(len(features), dtype=bool))
    chosen = choose(features, pool, n=6, n_areas=3)
    assert chosen["chosen_by"].tolist() == ["representative"] * 5 + ["random"]
    assert sorted(cluster[chosen["row"][:5]]) == [0, 1, 2, 3, 4]  # one paper of each cluster, largest first
    assert chosen["row"].is_unique
    assert round(RANDOM_SHARE * 20) == (choose(features, pool, 20, 3)["chosen_by"] == "random").sum() == 4


def test_once_there_are_labels_per_area_uncertain_papers_come_first_spread_over_clusters_disagreement_counting():
    cluster = np.arange(80) % 4  # four tight clusters, interleaved
    features = clustered_pool([20] * 4)[np.argsort(np.argsort(cluster, kind="stable"))]
    margin = np.linspace(0.1, 0.9, 80)
    probabilities = np.column_stack([(1 + margin) / 2, (1 - margin) / 2])
    disagree = np.zeros(80, dtype=bool)
    disagree[[20, 70]] = True  # the end model and its teacher disagree: margins 0.30 -> 0.05 (first), 0.81 -> 0.56
    labelled = features[: REPRESENTATIVE_PER_AREA * 2]  # enough labels for 2 areas: no representative phase
    chosen = choose(features, Pool(probabilities, disagree), n=5, n_areas=2, labelled=labelled)
    assert chosen["chosen_by"].tolist() == ["uncertain"] * 4 + ["random"]
    # The most uncertain paper of each cluster: 20 (cluster 0, ahead of paper 0), then papers 1, 2 and 3.
    assert sorted(chosen["row"][:4]) == [1, 2, 3, 20]
    assert 70 not in chosen["row"].tolist()[:4]


def test_text_features_are_unit_vectors_that_put_similar_papers_together():
    texts = ["graph neural networks on molecules"] * 3 + ["diffusion models generate images"] * 3
    features = text_features(texts)
    assert np.allclose(np.linalg.norm(features, axis=1), 1)
    assert features[0] @ features[1] > 0.99 and abs(features[0] @ features[4]) < 0.5


def select(tracking_uri: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(REPO / "train.py"), "select", *args], capture_output=True, text=True,
                          env={**__import__("os").environ, "MLFLOW_TRACKING_URI": tracking_uri}, timeout=300)


@pytest.mark.slow
def test_select_chooses_from_the_bundled_dumps_and_a_second_round_leaves_the_first_out(taught_registry, tmp_path):
    first = tmp_path / "round1.csv"
    done = select(taught_registry, "--n", "30", "--output", str(first))
    assert done.returncode == 0, done.stderr
    assert f"wrote {first}: 30 papers to label (24 representative, 0 uncertain, 6 random)" in done.stderr
    sheet = pd.read_csv(first, keep_default_na=False)
    assert list(sheet.columns) == ["id", "title", "abstract", "suggested", "chosen_by", "label"]
    assert (sheet["label"] == "").all() and sheet["id"].is_unique
    assert all(len(Row(0, "i", "t", "a", suggested).suggestions()) == 3 for suggested in sheet["suggested"])
    # A labeller fills in ten rows with the first suggestion; the next round never picks a paper of the first.
    sheet.loc[:9, "label"] = [Row(0, "i", "t", "a", text).suggestions()[0] for text in sheet["suggested"][:10]]
    sheet.to_csv(first, index=False)
    second = tmp_path / "round2.json"
    done = select(taught_registry, "--n", "60", "--output", str(second), "--labelled", str(first))
    assert done.returncode == 0, done.stderr
    # 2 labels an area make 42: 10 exist, so 32 representative papers, and 20% of 60 random.
    assert "60 papers to label (32 representative, 16 uncertain, 12 random)" in done.stderr
    assert "(10 labelled already)" in done.stderr and (tmp_path / "round2.xml").is_file()
    chosen = read_sheet(second).rows
    assert len(chosen) == 60 and not {row.id for row in chosen} & set(sheet["id"])

    bad = tmp_path / "bad.csv"
    bad.write_text("id,title,abstract,label\nz,T,A,Not an area\n")
    done = select(taught_registry, "--n", "5", "--output", str(tmp_path / "r3.csv"), "--labelled", str(bad))
    assert (done.returncode, done.stderr.splitlines()[-1]) == (
        2, f"error: {bad}:2: label 'Not an area' is not an area of taxonomy 'iclr2025'")
