"""Property: whatever the bytes, reading dumps raises nothing but DumpError."""

from __future__ import annotations

import gzip
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from paper_areas.dumps import FORMATS, DumpError, read_dumps

FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def read_bytes_as_dump(content: bytes, format: str | None) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "dump"
        path.write_bytes(content)
        try:
            for paper in read_dumps([path], format):
                assert paper.title or paper.abstract
        except DumpError as error:
            assert "\n" not in str(error) and str(error).startswith(f"{path}:")


@FAST
@given(content=st.binary(max_size=2000), format=st.none() | st.sampled_from(FORMATS))
def test_random_bytes_raise_only_dump_error(content, format):
    read_bytes_as_dump(content, format)


@FAST
@given(data=st.data(), format=st.none() | st.sampled_from(FORMATS))
def test_truncated_seeds_raise_only_dump_error(sample_dumps, data, format):
    seed = data.draw(st.sampled_from(sample_dumps)).read_bytes()
    if data.draw(st.booleans()):
        seed = gzip.compress(seed)
    content = seed[: data.draw(st.integers(0, len(seed)))] + data.draw(st.binary(max_size=20))
    read_bytes_as_dump(content, format)
