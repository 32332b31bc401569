"""The one writer of every output file (command-line outputs, the embedding cache, bench results, screenshots): checked
before any work, written under a temporary name beside it and moved into place only when complete."""

from __future__ import annotations

import glob
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from paper_areas.core.errors import UserError

PART_SUFFIX = ".part"


def check_output_path(output: str | Path, inputs: Iterable[str | Path]) -> None:
    """Check an output path before any work: raise UserError when `output` is one of `inputs` (the same file, also
    by another path or a symlink), an existing folder, or in a folder that cannot be created or written."""
    output = Path(output)
    if output.is_dir():
        raise UserError(f"{output}: is a folder (name the file to write)")
    if output.exists():
        for path in inputs:
            if Path(path).exists() and os.path.samefile(output, path):
                raise UserError(f"{output}: is the input {path}; writing there would replace it "
                                "(choose another output)")
    folder = output.absolute().parent
    existing = next(parent for parent in (folder, *folder.parents) if parent.exists())
    if not existing.is_dir():
        raise UserError(f"{output}: cannot create its folder: {existing} is a file")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise UserError(f"{output}: cannot write in {existing}: permission denied")


def write_output(path: str | Path, content: str | bytes) -> None:
    """Write `content` (text as UTF-8, or bytes) to `path` atomically (see `atomic_output`), creating its folder;
    UserError naming `path` when that fails."""
    path = Path(path)
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with atomic_output(path) as temp:
            temp.write_bytes(data)
    except OSError as error:
        raise UserError(f"{path}: cannot write: {error.strerror or error}") from None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def remove_stale_parts(path: Path) -> None:
    """Delete the temporaries of `path` left by runs whose process is gone (killed with SIGKILL, power loss)."""
    prefix = f".{path.name}."
    for part in path.parent.glob(glob.escape(prefix) + "*" + PART_SUFFIX):
        pid = part.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _process_alive(int(pid)):
            part.unlink(missing_ok=True)


def temporary_beside(path: Path) -> Path:
    """A new empty hidden file `.NAME.<pid>.<random>.part` in `path`'s folder (created if needed); stale
    temporaries of `path` are removed first. Raises OSError when the folder cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_parts(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.{os.getpid()}.", suffix=PART_SUFFIX)
    os.close(handle)
    return Path(temp)


def publish(temp: Path, path: Path) -> None:
    """Give the finished temporary the mode of an ordinary new file (mkstemp makes it private); move it to `path`."""
    umask = os.umask(0)  # the only way to read the umask is to set it
    os.umask(umask)
    temp.chmod(0o666 & ~umask)
    os.replace(temp, path)


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """A temporary path beside `path` (its folder created if missing), published to `path` when the block ends
    cleanly and deleted otherwise (also on Ctrl-C and, under `fail_cleanly`, SIGTERM)."""
    path = Path(path)
    temp = temporary_beside(path)
    try:
        yield temp
        publish(temp, path)
    finally:
        temp.unlink(missing_ok=True)
