"""Headless Chromium driven over the DevTools protocol on a pipe (`--remote-debugging-pipe`), with no dependency
beyond the standard library: the README's screenshot script and the browser tests use it."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from contextlib import suppress
from pathlib import Path
from typing import Any

from paper_areas.core.errors import UserError


class BrowserError(UserError):
    """Chromium exited, or refused a command; the message says which."""


def wait_or_kill(process: subprocess.Popen, seconds: float) -> None:
    """Wait up to `seconds` for `process` to exit, then kill it."""
    try:
        process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()



class DevTools:
    """Chromium's DevTools protocol over `--remote-debugging-pipe`: NUL-separated JSON messages, commands written to
    the browser's fd 3 and replies and events read from its fd 4."""

    def __init__(self, chromium: str, profile: Path, width: int = 1600, height: int = 900) -> None:
        commands_read, self._commands = os.pipe()
        self._replies, replies_write = os.pipe()
        # Copies above 4, so that placing them at 3 and 4 in the child cannot overwrite one with the other.
        child_ends = [fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 10) for fd in (commands_read, replies_write)]
        flags = ["--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync",
                 "--hide-scrollbars", f"--user-data-dir={profile}", f"--window-size={width},{height}", "about:blank"]
        self.process = subprocess.Popen(
            [chromium, *flags], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            close_fds=False, preexec_fn=lambda: (os.dup2(child_ends[0], 3), os.dup2(child_ends[1], 4)),
        )
        for fd in (commands_read, replies_write, *child_ends):
            os.close(fd)
        self._buffer = b""
        self._last_id = 0
        self.session: str | None = None

    def send(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one command (on the attached tab, once there is one, unless a Browser.* command); its result."""
        self._last_id += 1
        message: dict[str, Any] = {"id": self._last_id, "method": method, "params": params or {}}
        if self.session and not method.startswith("Browser."):
            message["sessionId"] = self.session
        try:
            os.write(self._commands, json.dumps(message).encode() + b"\0")
        except BrokenPipeError:
            raise BrowserError(f"chromium exited (status {self.process.poll()}) before {method}") from None
        while True:
            while b"\0" not in self._buffer:
                chunk = os.read(self._replies, 1 << 16)
                if not chunk:
                    raise BrowserError(f"chromium exited (status {self.process.wait()}) while talking to it")
                self._buffer += chunk
            text, self._buffer = self._buffer.split(b"\0", 1)
            reply = json.loads(text)
            if reply.get("id") == self._last_id:
                if "error" in reply:
                    raise BrowserError(f"chromium: {method}: {reply['error'].get('message')}")
                return reply.get("result", {})

    def attach_to_page(self) -> None:
        """Send the next commands to the browser's first tab."""
        tab = next(t for t in self.send("Target.getTargets")["targetInfos"] if t["type"] == "page")
        self.session = self.send("Target.attachToTarget", {"targetId": tab["targetId"], "flatten": True})["sessionId"]

    def evaluate(self, expression: str) -> Any:
        """The JSON value of a JavaScript expression evaluated in the page."""
        result = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        return result["result"].get("value")

    def close(self) -> None:
        with suppress(BrowserError):  # it closes by exiting, which may cut the reply short
            self.send("Browser.close")
        wait_or_kill(self.process, 20)
        os.close(self._commands)
        os.close(self._replies)
