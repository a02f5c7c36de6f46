"""A log file rotated by size or daily, its parts gzip-compressed and kept ``keep_days``.

At a rotation the file is renamed (fast, in the caller's thread) to
``NAME.YYYYMMDDTHHMMSS[-N]`` (UTC) and a new file opened; a background thread compresses
the renamed part to ``NAME.YYYYMMDDTHHMMSS[-N].gz`` and removes it, then deletes every
archive of this file older than ``keep_days`` days (by modification time). The trading
loop never waits for gzip. Archives are also pruned when the handler opens.
"""

from __future__ import annotations

import gzip
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Literal

__all__ = ["ArchivingFileHandler"]

_DAY_S = 86_400


class ArchivingFileHandler(logging.FileHandler):
    """A file handler that rotates (``size``: before a line would take the file past
    ``max_bytes``; ``daily``: at the first line of a new UTC day) and archives (see the
    module docs). ``clock`` (seconds since the epoch) decides the day, names the parts and
    ages the archives."""

    def __init__(self, path: str | os.PathLike[str], *,
                 rotate: Literal["size", "daily"] = "size", max_bytes: int = 10 << 20,
                 keep_days: int = 14, clock: Callable[[], float] = time.time) -> None:
        super().__init__(path, mode="a", encoding="utf-8", delay=False)
        self.path = Path(self.baseFilename)
        self.rotate = rotate
        self.max_bytes = max_bytes
        self.keep_days = keep_days
        self.clock = clock
        self._day = self._utc_day(self._opened_at())
        self._workers: list[threading.Thread] = []
        self.prune()

    @staticmethod
    def _utc_day(ts: float) -> int:
        return int(ts // _DAY_S)

    def _opened_at(self) -> float:
        # A file carried over from an earlier run belongs to the day it was last written.
        try:
            if self.path.stat().st_size > 0:
                return self.path.stat().st_mtime
        except OSError:
            pass
        return self.clock()

    def archives(self) -> list[Path]:
        """This file's compressed parts, oldest name first."""
        prefix = self.path.name + "."
        return sorted(p for p in self.path.parent.iterdir()
                      if p.name.startswith(prefix) and p.name.endswith(".gz"))

    def should_rotate(self, record: logging.LogRecord) -> bool:
        """Whether ``record`` goes into a new file."""
        if self.stream is None:
            return False
        if self.rotate == "daily":
            return self._utc_day(self.clock()) != self._day
        size = self.stream.tell()
        return size > 0 and size + len(self.format(record)) + 1 > self.max_bytes

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self.should_rotate(record):
                self.do_rollover()
        except Exception:
            self.handleError(record)
        super().emit(record)

    def do_rollover(self) -> None:
        """Rename the current file to a part, open a new one, archive in the background."""
        if self.stream is not None:
            self.stream.close()
            self.stream = None
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(self.clock()))
        part = self.path.with_name(f"{self.path.name}.{stamp}")
        n = 1
        while part.exists() or part.with_name(part.name + ".gz").exists():
            n += 1
            part = self.path.with_name(f"{self.path.name}.{stamp}-{n}")
        if self.path.exists():
            os.replace(self.path, part)
        self.stream = self._open()
        self._day = self._utc_day(self.clock())
        worker = threading.Thread(target=self._archive, args=(part,),
                                  name="bitunix-log-archive", daemon=True)
        self._workers = [w for w in self._workers if w.is_alive()]
        self._workers.append(worker)
        worker.start()

    def _archive(self, part: Path) -> None:
        if part.exists():
            tmp = part.with_name(part.name + ".gz.tmp")
            with part.open("rb") as src, gzip.open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            os.replace(tmp, part.with_name(part.name + ".gz"))
            part.unlink()
        self.prune()

    def prune(self) -> list[Path]:
        """Delete the archives older than ``keep_days`` days; return them."""
        cutoff = self.clock() - self.keep_days * _DAY_S
        gone = []
        for archive in self.archives():
            try:
                if archive.stat().st_mtime < cutoff:
                    archive.unlink()
                    gone.append(archive)
            except FileNotFoundError:  # pruned by another worker meanwhile
                continue
        return gone

    def wait_archived(self, timeout_s: float = 10.0) -> None:
        """Wait for the background compressions started so far."""
        for worker in list(self._workers):
            worker.join(timeout_s)

    def close(self) -> None:
        self.wait_archived()
        super().close()
