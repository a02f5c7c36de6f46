"""A recording written as rotated gzip parts: what ``bitunix-bot record`` writes.

Each part is a gzip file of recording lines (``<recv_ts_ns> <raw frame>``, the format of
:mod:`bitunix.data.recording`), named ``part-<seq>-<UTC start>.txt.gz`` so that name order
is time order, also across runs into the same directory (the sequence goes on from the
highest part there). A part is closed and the next one opened when its compressed size
reaches ``rotate_bytes`` or it has been open ``rotate_s`` seconds (of receive time).

Lines are buffered and compressed a chunk at a time; every ``flush_s`` the compressed
stream is sync-flushed to the file, so a killed recorder loses at most that much and its
last part reads up to its last complete line (see :func:`bitunix.data.files.iter_market_file`).
:meth:`RotatingRecordingWriter.close` finishes the gzip member (trailer and CRC).

>>> with RotatingRecordingWriter("rec", rotate_bytes=64 << 20, rotate_s=3600) as w:
...     w.write(time.time_ns(), frame_bytes)
"""

from __future__ import annotations

import gzip
import re
import zlib
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from bitunix.data.recording import RecordingError

__all__ = ["PART_NAME", "RotatingRecordingWriter"]

#: Part names: ``part-000001-20240808T120000Z.txt.gz``.
PART_NAME = re.compile(r"part-(\d{6,})-\d{8}T\d{6}Z\.txt\.gz")
_CHUNK_BYTES = 1 << 16


class RotatingRecordingWriter:
    """Writes recording lines into rotated gzip parts in ``out_dir`` (created if needed).

    ``write`` is called with each frame exactly as received and its receive time; ``tick``
    (from a timer) flushes and rotates on time when no frame comes. Use as a context
    manager or call :meth:`close`.
    """

    def __init__(self, out_dir: str | Path, *, rotate_bytes: int = 64 << 20,
                 rotate_s: float = 3600.0, flush_s: float = 1.0, level: int = 6) -> None:
        if rotate_bytes <= 0 or rotate_s <= 0 or flush_s <= 0:
            raise ValueError("rotate_bytes, rotate_s and flush_s must be > 0")
        self.out_dir = Path(out_dir)
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self.rotate_bytes = rotate_bytes
        self.rotate_ns = int(rotate_s * 1e9)
        self.flush_ns = int(flush_s * 1e9)
        self.level = level
        #: Every part written or being written, in order.
        self.parts: list[Path] = []
        self.lines = 0
        self.bytes_in = 0
        self._seq = max((int(m[1]) for p in self.out_dir.iterdir()
                         if (m := PART_NAME.fullmatch(p.name))), default=0)
        self._raw: BinaryIO | None = None
        self._gz: gzip.GzipFile | None = None
        self._buf: list[bytes] = []
        self._buf_bytes = 0
        self._opened_ns = 0
        self._flush_due_ns = 0

    @property
    def compressed_bytes(self) -> int:
        """Bytes of every part on disk so far."""
        return sum(p.stat().st_size for p in self.parts if p.exists())

    def _open(self, ts_ns: int) -> None:
        self._seq += 1
        stamp = datetime.fromtimestamp(ts_ns / 1e9, UTC).strftime("%Y%m%dT%H%M%SZ")
        path = self.out_dir / f"part-{self._seq:06d}-{stamp}.txt.gz"
        raw = path.open("xb")  # never over a part of another run
        self._raw = raw
        self._gz = gzip.GzipFile(filename="", fileobj=raw, mode="wb", compresslevel=self.level,
                                 mtime=0)
        self.parts.append(path)
        self._opened_ns = ts_ns
        self._flush_due_ns = ts_ns + self.flush_ns

    def write(self, recv_ts_ns: int, frame: bytes) -> None:
        """Record one frame as received. A frame with a newline cannot be one line: it is a
        :class:`RecordingError` (nothing written)."""
        if b"\n" in frame:
            raise RecordingError(f"{self.out_dir}: a frame with a newline cannot be recorded "
                                 "as one line")
        if self._gz is None:
            self._open(recv_ts_ns)
        elif recv_ts_ns - self._opened_ns >= self.rotate_ns:
            self._rotate(recv_ts_ns)
        line = b"%d %b\n" % (recv_ts_ns, frame)
        self._buf.append(line)
        self._buf_bytes += len(line)
        self.lines += 1
        self.bytes_in += len(line)
        if self._buf_bytes >= _CHUNK_BYTES:
            self._compress()
        if recv_ts_ns >= self._flush_due_ns:
            self._flush(recv_ts_ns)

    def tick(self, now_ns: int) -> None:
        """Flush and rotate on time while no frame comes (call about once a second)."""
        if self._gz is None:
            return
        if now_ns - self._opened_ns >= self.rotate_ns:
            self._rotate(now_ns, reopen=False)
        elif now_ns >= self._flush_due_ns:
            self._flush(now_ns)

    def _compress(self) -> None:
        assert self._gz is not None
        assert self._raw is not None
        self._gz.write(b"".join(self._buf))
        self._buf.clear()
        self._buf_bytes = 0
        if self._raw.tell() >= self.rotate_bytes:
            self._rotate(self._opened_ns, reopen=False)

    def _flush(self, now_ns: int) -> None:
        if self._gz is None:
            return
        if self._buf:
            self._compress()
        if self._gz is not None:
            # A sync flush ends the compressed data on a byte boundary: everything written
            # so far decompresses even if the process dies before the gzip trailer.
            self._gz.flush(zlib.Z_SYNC_FLUSH)
            self._flush_due_ns = now_ns + self.flush_ns

    def _rotate(self, now_ns: int, *, reopen: bool = True) -> None:
        self._close_part()
        if reopen:
            self._open(now_ns)

    def _close_part(self) -> None:
        gz, raw = self._gz, self._raw
        if gz is None or raw is None:
            return
        self._gz = self._raw = None
        try:
            if self._buf:
                gz.write(b"".join(self._buf))
                self._buf.clear()
                self._buf_bytes = 0
            gz.close()  # the gzip trailer: the part is complete
        finally:
            raw.close()

    def close(self) -> None:
        """Write what is buffered and finish the current part."""
        self._close_part()

    def __enter__(self) -> RotatingRecordingWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
