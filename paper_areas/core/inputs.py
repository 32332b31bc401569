"""Input text files of the command-line tools (configs, taxonomies): read as UTF-8, any failure one line naming the
file."""

from __future__ import annotations

from pathlib import Path

from paper_areas.core.errors import UserError


def read_utf8(path: str | Path, error: type[UserError] = UserError) -> str:
    """The text of the UTF-8 file `path`; raises `error` naming the file (and, for bytes that are not UTF-8, the
    line) when it cannot be read or decoded."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise error(f"{path}: cannot read: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise error(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the file as UTF-8") from None
