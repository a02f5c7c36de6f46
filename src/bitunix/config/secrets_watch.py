"""Noticing a new exchange key pair in the secrets file while the bot runs.

The rotation procedure (docs/secrets.md): the operator creates the new key at the
exchange, writes the new pair into the secrets file (``bitunix-bot secrets encrypt`` to a
temporary file, then ``mv`` over the old one: a rename, so the bot never reads half a
file), waits until the bot says it swapped, and only then deletes the old key at the
exchange. The running bot polls the file's identity (inode, size, mtime) every
``venue.secrets_poll_s`` and, when it changed, reads it as at start-up.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bitunix.config.loader import Secrets, load_secrets

__all__ = ["SecretsFileWatch", "watch_secrets_file"]

#: Where the pair may come from besides the file; when set, the environment wins and the
#: file is not watched.
_ENV_PAIR = ("BITUNIX_API_KEY", "BITUNIX_API_SECRET", "BITUNIX_SECRET_KEY")


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return st.st_ino, st.st_size, st.st_mtime_ns


class SecretsFileWatch:
    """The secrets file at ``path``, read again when it changes (``poll``).

    ``environ`` supplies the master key of an encrypted file; ``current`` is the pair in
    use (the caller sets it once a new pair is swapped in). ``poll`` returns a pair only
    when the file changed *and* holds a pair other than the current one (a file only
    re-encrypted by ``secrets rotate-key`` is no new key).
    """

    def __init__(self, path: Path, environ: Mapping[str, str], current: Secrets) -> None:
        self.path = path
        self._environ = {k: v for k, v in environ.items() if k not in _ENV_PAIR}
        self.current = current
        self._seen = _identity(path)

    def poll(self) -> Secrets | None:
        """The new pair, or None; a changed file that cannot be used raises ConfigError
        (once per change: the next poll of the same file is quiet)."""
        identity = _identity(self.path)
        if identity == self._seen:
            return None
        self._seen = identity
        if identity is None:
            return None  # being replaced, or gone: the pair in use stays
        pair = load_secrets(self._environ, str(self.path))
        if pair is None or (pair.api_key, pair.api_secret) == (self.current.api_key,
                                                             self.current.api_secret):
            return None
        return pair


def watch_secrets_file(environ: Mapping[str, str], secrets_file: str,
                       current: Secrets | None) -> SecretsFileWatch | None:
    """A watch of the file the pair in use came from; None when it came from the
    environment (or there is no pair or no file)."""
    path_text = secrets_file or environ.get("BITUNIX_SECRETS_FILE", "")
    if current is None or not path_text or any(environ.get(k) for k in _ENV_PAIR):
        return None
    return SecretsFileWatch(Path(path_text).expanduser(), environ, current)
