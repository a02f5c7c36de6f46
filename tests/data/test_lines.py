"""The bounded line reader under captures and recordings: unreadable files, long lines."""

from __future__ import annotations

import gzip
import tracemalloc
from pathlib import Path

import pytest

from bitunix.data.lines import MAX_LINE_BYTES, DataFileError, read_lines


def test_lines_are_numbered_and_stripped_of_their_newline(tmp_path: Path) -> None:
    path = tmp_path / "a.txt"
    path.write_bytes(b"one\ntwo\n\nfour")
    assert list(read_lines(path)) == [(1, b"one"), (2, b"two"), (3, b""), (4, b"four")]
    gz = tmp_path / "a.txt.gz"
    gz.write_bytes(gzip.compress(b"one\ntwo\n"))
    assert list(read_lines(gz)) == [(1, b"one"), (2, b"two")]
    (tmp_path / "empty.txt").write_bytes(b"")
    assert list(read_lines(tmp_path / "empty.txt")) == []


def test_lines_longer_than_a_read_chunk_come_whole(tmp_path: Path) -> None:
    long = b"x" * 200_000  # three 64 KiB chunks, under the 1 MiB cap
    path = tmp_path / "long.txt"
    path.write_bytes(b"a\n" + long + b"\nb\n" + long)
    assert list(read_lines(path)) == [(1, b"a"), (2, long), (3, b"b"), (4, long)]


@pytest.mark.parametrize("content", [b"ok\n" + b"x" * 11 + b"\nmore\n", b"ok\n" + b"x" * 11])
def test_a_line_over_the_cap_is_an_error_naming_file_and_line(
    tmp_path: Path, content: bytes
) -> None:
    path = tmp_path / "f.txt"
    path.write_bytes(content)
    with pytest.raises(DataFileError, match=r"f\.txt:2: line longer than 10 bytes"):
        list(read_lines(path, max_line_bytes=10))
    path.write_bytes(b"x" * 10 + b"\n" + b"y" * 10)  # exactly the cap: fine
    assert [n for n, _ in read_lines(path, max_line_bytes=10)] == [1, 2]


def test_a_file_without_newlines_costs_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "blob.txt"
    path.write_bytes(b"7" * (8 * MAX_LINE_BYTES))  # 8 MiB, no newline
    tracemalloc.start()
    try:
        with pytest.raises(DataFileError, match=rf"blob\.txt:1: line longer than {MAX_LINE_BYTES}"):
            list(read_lines(path))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 3 * MAX_LINE_BYTES  # the cap plus a read chunk and a copy, not 8 MiB


def _gzipped_text() -> bytes:
    return gzip.compress(b"".join(b"%d some text\n" % i for i in range(50_000)))


def _corrupt_gzip(tmp_path: Path) -> Path:
    data = bytearray(_gzipped_text())
    for i in range(len(data) // 2, len(data) // 2 + 64):
        data[i] ^= 0x5A
    path = tmp_path / "corrupt.txt.gz"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize(("make", "message"), [
    (lambda d: d / "missing.gz", r"missing\.gz: cannot read: No such file or directory"),
    (lambda d: d, r": cannot read: Is a directory"),
    (lambda d: _write(d / "t.gz", _gzipped_text()[:-100]),
     r"t\.gz:\d+: the compressed data end early \(truncated file\?\)"),
    (lambda d: _write(d / "r.gz", bytes(range(256)) * 4), r"r\.gz:1: not valid gzip data"),
    (lambda d: _write(d / "p.gz", b"hello world\n"), r"p\.gz:1: not valid gzip data"),
    (_corrupt_gzip, r"corrupt\.txt\.gz:\d+: not valid gzip data"),
])
def test_unreadable_files_are_one_error_naming_the_file(
    tmp_path: Path, make: object, message: str
) -> None:
    path = make(tmp_path)  # type: ignore[operator]
    with pytest.raises(DataFileError, match=message):
        list(read_lines(path))


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
