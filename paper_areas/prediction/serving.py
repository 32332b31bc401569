"""The REST model server `make serve` runs: MLflow's scoring app (the protocol of `mlflow models serve`) behind a
request-size cap, with requests MLflow cannot parse answered 400; and a context manager that runs it on a free
127.0.0.1 port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from paper_areas.prediction.model import DEFAULT_MODEL_URI, load_model

MAX_REQUEST_BYTES = 16 << 20  # a request body; thousands of papers (one paper may have 1 MiB: models.pyfunc)
MODEL_VARIABLE = "PAPER_AREAS_MODEL"  # the environment variable naming the model `scoring_app` serves
APP = "paper_areas.prediction.serving:scoring_app"

if TYPE_CHECKING:
    from fastapi import Request, Response

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Message, Receive, Send], Awaitable[None]]


class RequestCap:
    """ASGI middleware: a request whose body is over `max_bytes` gets 413 (by its Content-Length, or, chunked, once
    that many bytes have come) and never reaches the app; the body of any other is read here and passed on."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_REQUEST_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = dict(scope["headers"]).get(b"content-length", b"0")
        if length.isdigit() and int(length) > self.max_bytes:
            return await self.refuse(send)
        body = bytearray()
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            body += message.get("body", b"")
            if len(body) > self.max_bytes:
                return await self.refuse(send)
            more = message.get("more_body", False)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": bytes(body), "more_body": False}

        return await self.app(scope, replay, send)

    async def refuse(self, send: Send) -> None:
        content = json.dumps({"error_code": "REQUEST_LIMIT_EXCEEDED",
                              "message": f"request body over {self.max_bytes:,} bytes: send fewer papers a request"})
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"connection", b"close"),
                                (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content.encode()})


def unparsable_request(request: Request, error: Exception) -> Response:
    """A 400 for a request MLflow failed to parse (JSON nested too deeply, an integer of thousands of digits, ...):
    every failure of the model itself reaches MLflow as an MlflowException, so what else escapes is the request's."""
    from fastapi.responses import Response
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import BAD_REQUEST

    reason = "nested too deeply" if isinstance(error, RecursionError) else str(error).splitlines()[0]
    refusal = MlflowException(f"cannot parse the request: {reason}", error_code=BAD_REQUEST)
    return Response(content=refusal.serialize_as_json(), status_code=400, media_type="application/json")


def scoring_app() -> RequestCap:
    """MLflow's scoring app for the model named by $PAPER_AREAS_MODEL (what uvicorn serves with `--factory`)."""
    from mlflow.pyfunc import scoring_server

    app = scoring_server.init(load_model(os.environ.get(MODEL_VARIABLE, DEFAULT_MODEL_URI)))
    for error in (RecursionError, ValueError):
        app.add_exception_handler(error, unparsable_request)
    return RequestCap(app)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def serve_command(port: int, mlflow_cli_model: str | None = None) -> list[str]:
    """The `make serve` command with this interpreter: uvicorn serving `scoring_app`; or, given a model URI, MLflow's
    own `mlflow models serve` of it (the same app from the model's artifacts, without the cap and parse-error 400s)."""
    if mlflow_cli_model is not None:
        return [sys.executable, "-m", "mlflow", "models", "serve", "-m", mlflow_cli_model, "--env-manager", "local",
                "--host", "127.0.0.1", "--port", str(port)]
    return [sys.executable, "-m", "uvicorn", "--factory", APP, "--host", "127.0.0.1", "--port", str(port)]


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/ping", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def model_server(model_uri: str = DEFAULT_MODEL_URI, tracking_uri: str | None = None, timeout: float = 180.0,
                 mlflow_cli: bool = False) -> Iterator[str]:
    """Start the server (`make serve`'s, or `mlflow models serve` when `mlflow_cli`), yield its base URL once /ping
    answers, then stop it and its workers."""
    port = free_port()
    environment = {**os.environ, MODEL_VARIABLE: model_uri,  # `mlflow models serve` execs the venv's `uvicorn`
                   "PATH": os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]])}
    if tracking_uri:
        environment["MLFLOW_TRACKING_URI"] = tracking_uri
    url = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "serve.log"
        with log.open("w") as output:
            process = subprocess.Popen(serve_command(port, model_uri if mlflow_cli else None), env=environment,
                                       stdout=output,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + timeout
            while not _answers(url):
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the model server did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
            yield url
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                process.wait(timeout=30)
