"""Reading ``<recv_ts_ns> <json>`` files line by line, safely.

Captures and recordings are read through :func:`read_lines`: plain or gzip (by the ``.gz``
suffix), one line at a time in bounded reads, so a file without newlines cannot take the
memory of its whole size, and a file that cannot be read (missing, not gzip, truncated,
corrupt) is one :class:`DataFileError` naming the file and line, never an ``OSError`` or
``EOFError`` from deep inside ``gzip``.
"""

from __future__ import annotations

import gzip
import io
import logging
import zlib
from collections.abc import Iterator
from pathlib import Path

from bitunix.core.errors import BitunixError

#: The longest line accepted (1 MiB). A depth snapshot of 1000 levels per side is
#: about 50 kB; a longer line is not market data.
MAX_LINE_BYTES = 1 << 20
_CHUNK_BYTES = 1 << 16

log = logging.getLogger("bitunix.data")


class DataFileError(BitunixError, ValueError):
    """A market-data file that cannot be read; the message names the file (and line)."""


def _open(path: Path) -> io.BufferedIOBase:
    if path.suffix == ".gz":
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


def _describe(exc: Exception) -> str:
    if isinstance(exc, EOFError):
        return "the compressed data end early (truncated file?)"
    if isinstance(exc, gzip.BadGzipFile | zlib.error):
        return f"not valid gzip data ({exc})"
    if isinstance(exc, OSError) and exc.strerror:
        return f"cannot read: {exc.strerror}"
    return f"cannot read: {exc}"


def read_lines(
    path: Path,
    *,
    error: type[DataFileError] = DataFileError,
    max_line_bytes: int = MAX_LINE_BYTES,
    truncated_ok: bool = False,
) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, line)`` for every line of ``path``, the newline stripped.

    Raises ``error`` (with ``path:line`` in its message) when the file cannot be opened or
    decompressed, or a line is longer than ``max_line_bytes``. Memory stays within about
    ``max_line_bytes`` plus one read chunk, whatever the file holds.

    ``truncated_ok``: compressed data that end early (the part a killed recorder was
    writing) end the lines instead, at the last complete one, with a warning on the
    ``bitunix.data`` logger; the incomplete line after it is dropped.
    """
    try:
        fh = _open(path)
    except OSError as exc:
        raise error(f"{path}: {_describe(exc)}") from None
    with fh:
        lineno = 0
        pending = b""
        while True:
            try:
                # read1: one read of the decompressor, so the data before a truncation
                # are returned before its EOFError (read() would drop them with it).
                chunk = fh.read1(_CHUNK_BYTES)
            except EOFError as exc:
                if not truncated_ok:
                    raise error(f"{path}:{lineno + 1}: {_describe(exc)}") from None
                log.warning("%s:%d: %s; read up to its last complete line", path, lineno + 1,
                            _describe(exc))
                return
            except (OSError, zlib.error) as exc:
                raise error(f"{path}:{lineno + 1}: {_describe(exc)}") from None
            if not chunk:
                break
            # Split in C, a chunk at a time: a readline() per line costs twice as much.
            lines = (pending + chunk).split(b"\n")
            pending = lines.pop()
            for line in lines:
                lineno += 1
                if len(line) > max_line_bytes:
                    raise _too_long(error, path, lineno, max_line_bytes)
                yield lineno, line
            if len(pending) > max_line_bytes:
                raise _too_long(error, path, lineno + 1, max_line_bytes)
        if pending:
            yield lineno + 1, pending


def _too_long(error: type[DataFileError], path: Path, lineno: int, limit: int) -> DataFileError:
    return error(f"{path}:{lineno}: line longer than {limit} bytes (not a market-data file?)")
