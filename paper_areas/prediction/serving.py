"""The REST model server `make serve` runs: MLflow's scoring app (the protocol of `mlflow models serve`) behind a
request-size cap, with requests MLflow cannot parse answered 400."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from paper_areas.prediction.model import DEFAULT_MODEL_URI, load_model

MAX_REQUEST_BYTES = 16 << 20  # a request body; thousands of papers (one paper may have 1 MiB: models.pyfunc)
MODEL_VARIABLE = "PAPER_AREAS_MODEL"  # the environment variable naming the model `scoring_app` serves

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
        self.app, self.max_bytes = app, max_bytes

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
        unread = iter([{"type": "http.request", "body": bytes(body), "more_body": False}])

        async def replay() -> Message:
            return next(unread, None) or await receive()

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
