"""SecretsFileWatch: a running bot's look at the secrets file (a new pair, the same pair
re-encrypted, a file being replaced or refused) and when there is a file to watch."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bitunix.config import Secrets
from bitunix.config.secrets import encrypt_pair, new_master_key, rotate, write_owner_only
from bitunix.config.secrets_watch import SecretsFileWatch, watch_secrets_file
from bitunix.core.errors import ConfigError

OLD = Secrets(api_key="watch-old-key", api_secret="watch-old-secret")


def _replace(path: Path, text: str, mode: int = 0o600) -> None:
    staged = path.with_name("staged")
    write_owner_only(staged, text)
    staged.chmod(mode)
    os.replace(staged, path)


def test_a_new_pair_is_seen_once_and_a_reencrypted_file_is_no_new_pair(tmp_path: Path) -> None:
    master = new_master_key()
    path = tmp_path / "s.toml"
    write_owner_only(path, encrypt_pair(OLD.api_key, OLD.api_secret, Fernet(master)))
    watch = SecretsFileWatch(path, {"BITUNIX_SECRETS_KEY": master}, OLD)
    assert watch.poll() is None  # unchanged
    _replace(path, rotate(path.read_text(), Fernet(master), "f"))
    assert watch.poll() is None  # a new data key, the same pair
    _replace(path, encrypt_pair("watch-new-key", "watch-new-secret", Fernet(master)))
    pair = watch.poll()
    assert pair is not None
    assert pair.api_key == "watch-new-key"
    watch.current = pair
    assert watch.poll() is None
    path.unlink()
    assert watch.poll() is None  # gone (being replaced): the pair in use stays


def test_a_changed_file_that_cannot_be_used_is_refused_once(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    write_owner_only(path, f'api_key = "{OLD.api_key}"\napi_secret = "{OLD.api_secret}"\n')
    watch = SecretsFileWatch(path, {}, OLD)
    _replace(path, 'api_key = "k2"\napi_secret = "s2"\n', mode=0o640)
    with pytest.raises(ConfigError, match="readable by others"):
        watch.poll()
    assert watch.poll() is None  # the same refused file: said once
    _replace(path, 'api_key = "new-plain-key"\napi_secret = "new-plain-secret"\n')
    pair = watch.poll()
    assert pair is not None
    assert pair.api_secret == "new-plain-secret"


def test_only_a_pair_that_came_from_a_file_is_watched(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    assert watch_secrets_file({}, str(path), OLD) is not None
    assert watch_secrets_file({"BITUNIX_SECRETS_FILE": str(path)}, "", OLD) is not None
    assert watch_secrets_file({"BITUNIX_API_KEY": "k", "BITUNIX_API_SECRET": "s"},
                              str(path), OLD) is None
    assert watch_secrets_file({}, "", OLD) is None
    assert watch_secrets_file({}, str(path), None) is None
