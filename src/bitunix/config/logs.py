"""The ``[log]`` section: the format of every log line, its threshold, the log file."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import msgspec

from bitunix.core.checks import check_number
from bitunix.core.errors import ConfigError

__all__ = ["LogSection"]


class LogSection(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """How the bot logs (see ``docs/logging.md``). ``format``: ``kv`` (``key=value`` pairs,
    the default, readable on a terminal and by logfmt tools) or ``json`` (one object per
    line), for stderr and the file alike. ``level``: the threshold (empty: the
    ``--log-level`` flag, default WARNING; the flag, when given, wins). ``file``: also write
    the lines to this file (empty: stderr only), rotated by ``rotate`` (``size``: at
    ``max_bytes``; ``daily``: at UTC midnight); rotated parts are gzip-compressed and
    deleted ``keep_days`` days later."""

    #: ``kv`` (logfmt ``key=value`` pairs) or ``json`` (one object per line), for stderr
    #: and the file alike.
    format: Literal["kv", "json"] = "kv"
    #: The threshold; empty: the ``--log-level`` flag's (default WARNING). The flag, when
    #: given, wins.
    level: Literal["", "DEBUG", "INFO", "WARNING", "ERROR"] = ""
    #: Also write every line to this file (empty: stderr only); its directory must exist.
    file: str = ""
    #: When the file is rotated: ``size`` (before it would pass ``max_bytes``) or
    #: ``daily`` (at the first line after UTC midnight).
    rotate: Literal["size", "daily"] = "size"
    #: The size a file is rotated at (``rotate = "size"``), bytes, at least 1024.
    max_bytes: int = 10_485_760
    #: Rotated parts (gzip-compressed) are deleted this many days after their last write.
    keep_days: int = 14

    def __post_init__(self) -> None:
        check_number("key log.max_bytes:", self.max_bytes, 1024, integer=True)
        check_number("key log.keep_days:", self.keep_days, 1, integer=True)
        if self.file:
            path = Path(self.file).expanduser()
            if path.is_dir():
                raise ConfigError(f"key log.file: {self.file} is a directory")
            if not path.parent.is_dir():
                raise ConfigError(f"key log.file: directory {path.parent} does not exist "
                                  f"(was {self.file!r})")
