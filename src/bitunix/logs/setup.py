"""Installing the log handlers of a ``bitunix-bot`` process (``install_logging``)."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TextIO

from bitunix.logs.formats import make_formatter
from bitunix.logs.redact import RedactingFilter
from bitunix.logs.rotation import ArchivingFileHandler

__all__ = ["LogFile", "LoggingInstall", "install_logging"]

#: Marks the handlers installed here, so a second call replaces them and no one else's.
_MARK = "_bitunix_logs"


@dataclass(frozen=True)
class LogFile:
    """Where the file handler writes and how it rotates (``config.logs.LogSection``)."""

    path: str
    rotate: str = "size"
    max_bytes: int = 10 << 20
    keep_days: int = 14


@dataclass
class LoggingInstall:
    """What :func:`install_logging` changed; :meth:`close` puts the root logger back."""

    handlers: list[logging.Handler] = field(default_factory=list)
    previous_level: int = logging.WARNING
    #: The handlers of an earlier install this one replaced (back on at :meth:`close`).
    replaced: list[logging.Handler] = field(default_factory=list)

    @property
    def file_handler(self) -> ArchivingFileHandler | None:
        """The file handler, when a file was asked for."""
        for handler in self.handlers:
            if isinstance(handler, ArchivingFileHandler):
                return handler
        return None

    def mask(self, secrets: Iterable[str]) -> None:
        """Mask ``secrets`` too in every line from now on (new keys of a rotation)."""
        for handler in self.handlers:
            for flt in handler.filters:
                if isinstance(flt, RedactingFilter):
                    flt.add(secrets)

    def close(self) -> None:
        """Remove and close the installed handlers; put back the ones they replaced and
        the root logger's level (a command's own logging ends; the process's goes on)."""
        root = logging.getLogger()
        for handler in self.handlers:
            root.removeHandler(handler)
            handler.close()
        self.handlers.clear()
        for handler in self.replaced:
            root.addHandler(handler)
        self.replaced.clear()
        root.setLevel(self.previous_level)


def install_logging(level: str | int, *, fmt: str = "kv", secrets: Iterable[str] = (),
                    file: LogFile | None = None, stream: TextIO | None = None,
                    clock: Callable[[], float] | None = None) -> LoggingInstall:
    """Send the process's log records at ``level`` and above to stderr (``stream``) and,
    when given, to ``file``: every line in format ``fmt`` with ``secrets`` masked.

    Handlers installed by an earlier call are replaced (until :meth:`LoggingInstall.close`
    of this one puts them back). As :func:`logging.basicConfig`
    does, no stderr handler is added when the root logger already has handlers of someone
    else's (a test runner's, an embedding program's): their output stays theirs. The file
    handler is always added.
    """
    root = logging.getLogger()
    install = LoggingInstall(previous_level=root.level)
    for handler in list(root.handlers):
        if getattr(handler, _MARK, False):
            root.removeHandler(handler)
            install.replaced.append(handler)
    formatter = make_formatter(fmt)
    redactor = RedactingFilter(secrets)
    handlers: list[logging.Handler] = []
    if not root.handlers:
        handlers.append(logging.StreamHandler(stream or sys.stderr))
    if file is not None:
        kwargs = {"clock": clock} if clock is not None else {}
        handlers.append(ArchivingFileHandler(
            file.path, rotate="daily" if file.rotate == "daily" else "size",
            max_bytes=file.max_bytes, keep_days=file.keep_days, **kwargs))
    for handler in handlers:
        setattr(handler, _MARK, True)
        handler.setFormatter(formatter)
        handler.addFilter(redactor)
        root.addHandler(handler)
    if handlers:
        root.setLevel(level)
    install.handlers = handlers
    return install
