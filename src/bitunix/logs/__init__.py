"""The bot's log lines: one format for all of them, secrets redacted, files rotated.

* :mod:`~bitunix.logs.formats`: ``kv`` (``ts=... level=INFO logger=... msg="..."``) or
  ``json`` (one object per line), chosen once for every handler of a process.
* :mod:`~bitunix.logs.redact`: a filter on each handler that replaces every configured
  secret value and the values of known secret fields and headers by ``***``.
* :mod:`~bitunix.logs.rotation`: a file that is rotated by size or daily; rotated parts are
  gzip-compressed in the background and deleted ``keep_days`` days after.
* :mod:`~bitunix.logs.setup`: :func:`install_logging`, what the command line calls.

See ``docs/logging.md``.
"""

from bitunix.logs.formats import JsonFormatter, KeyValueFormatter, make_formatter
from bitunix.logs.redact import RedactingFilter, redact
from bitunix.logs.rotation import ArchivingFileHandler
from bitunix.logs.setup import LoggingInstall, install_logging

__all__ = [
    "ArchivingFileHandler",
    "JsonFormatter",
    "KeyValueFormatter",
    "LoggingInstall",
    "RedactingFilter",
    "install_logging",
    "make_formatter",
    "redact",
]
