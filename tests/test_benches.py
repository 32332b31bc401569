"""Every bench runs: its quick mode (tiny data, tiny models) in this one process writes a well-formed JSON result,
never over the real ones; the kept results under bench/results/ are well-formed, and BENCHMARKS.md cites only
result files that exist."""

from __future__ import annotations

import importlib
import json
import re
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
sys.path.insert(0, str(BENCH))

import harness  # noqa: E402

BENCHES = sorted(path.stem for path in BENCH.glob("bench_*.py"))
RESULTS = sorted((BENCH / "results").rglob("*.json"))  # <bench>.json, or <folder>/<bench>.json for a --results run
NEEDS = {"bench_spark": "pyspark"}  # optional extras


def well_formed(result: dict, bench: str) -> None:
    assert result["bench"] == bench
    assert result["command"].startswith(f".venv/bin/python bench/{bench}.py")
    assert isinstance(result["figures"], dict) and result["figures"]
    if "transcribed_from" in result:  # measured before results were kept as data: says where it was measured
        assert result["measured_at"] and result["transcribed_from"].startswith("BENCHMARKS.md at ")
    else:
        assert re.fullmatch(r"[0-9a-f]{40}", result["commit"]) and isinstance(result["dirty"], bool)
        assert result["date"] and result["machine"]["cores"] >= 1 and result["machine"]["python"]


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("bench-results")


@pytest.mark.parametrize("bench", BENCHES)
def test_quick_mode_writes_a_result(bench: str, quick_results: Path) -> None:
    if bench in NEEDS:
        pytest.importorskip(NEEDS[bench])
    try:
        path = importlib.import_module(bench).main(["--quick", "--results", str(quick_results)])
    except harness.MissingData as missing:
        pytest.skip(str(missing))
    assert path == quick_results / f"{bench}.json"
    result = json.loads(path.read_text())
    well_formed(result, bench)
    assert result["quick"] is True and "--quick" in result["command"]


def test_a_quick_run_never_writes_over_the_kept_results() -> None:
    args = harness.parser(None).parse_args(["--quick"])
    assert harness.Report("bench_x", args, ["--quick"]).folder != harness.RESULTS


@pytest.mark.parametrize("path", RESULTS, ids=[str(path.relative_to(BENCH / "results")) for path in RESULTS])
def test_kept_results_are_well_formed(path: Path) -> None:
    result = json.loads(path.read_text())
    well_formed(result, path.stem)
    assert result.get("quick") is not True
    assert (BENCH / f"{path.stem}.py").exists(), f"{path.name}: a result of no bench"


def test_benchmarks_cites_only_results_that_exist() -> None:
    cited = set(re.findall(r"bench/results/([\w./-]+?\.json)", (REPO / "BENCHMARKS.md").read_text()))
    assert cited, "BENCHMARKS.md cites no result file"
    assert cited <= {str(path.relative_to(BENCH / "results")) for path in RESULTS}


def test_the_predict_bench_times_the_served_model_against_the_same_without_its_teacher(quick_results) -> None:
    import bench_predict

    path = bench_predict.main(["--quick", "--teacher-ratio", "1", "--results", str(quick_results / "ratio")])
    figures = json.loads(path.read_text())["figures"]
    runs = figures["predict.py runs, alternately"]
    assert [run["model"] for run in runs] == ["with teacher", "without teacher"] and runs[0]["rows"] == 300
    assert figures["ratio_with_over_without_teacher"] > 0
