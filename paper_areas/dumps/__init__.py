"""Reading paper dumps: detect the format, parse entries into Paper records, de-duplicate."""

from paper_areas.dumps.formats import FORMATS
from paper_areas.dumps.frame import chunks, papers_frame
from paper_areas.dumps.reader import DEFAULT_MAX_ENTRY_BYTES, DumpError, DumpReading, NoPapersError, read_dumps
from paper_areas.dumps.records import Paper

__all__ = ["DEFAULT_MAX_ENTRY_BYTES", "FORMATS", "NoPapersError", "DumpError", "DumpReading", "Paper", "papers_frame",
           "chunks", "read_dumps"]
