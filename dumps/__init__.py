"""Reading paper dumps: detect the format, parse entries into Paper records, de-duplicate."""

from dumps.chunks import chunks
from dumps.errors import DumpError, NoPapersError
from dumps.formats import FORMATS
from dumps.frame import papers_frame
from dumps.reader import DEFAULT_MAX_ENTRY_BYTES, DumpReading, FileReport, read_dumps
from dumps.records import Paper

__all__ = [
    "DEFAULT_MAX_ENTRY_BYTES",
    "FORMATS",
    "NoPapersError",
    "DumpError",
    "DumpReading",
    "FileReport",
    "Paper",
    "papers_frame",
    "chunks",
    "read_dumps",
]
