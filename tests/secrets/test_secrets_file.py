"""Secrets at rest (bitunix.config.secrets): encrypt, open, rotate, owner-only files, and
load_secrets reading the encrypted form; no error shows a secret."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bitunix.config import load_secrets
from bitunix.config.secrets import (
    check_owner_only,
    decrypt_pair,
    encrypt_pair,
    is_encrypted,
    master_key,
    new_master_key,
    read_key_file,
    rotate,
    write_owner_only,
)
from bitunix.core.errors import ConfigError

KEY, SECRET = "ak-rotation-test-0001", "sk-very-secret-value-0001"


def _write(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_encrypted_file_round_trips_and_holds_no_plain_secret() -> None:
    master = Fernet(new_master_key())
    text = encrypt_pair(KEY, SECRET, master)
    assert KEY not in text
    assert SECRET not in text
    data = tomllib.loads(text)
    assert is_encrypted(data)
    assert decrypt_pair(data, master, "f") == (KEY, SECRET)
    # A fresh data key each time: the same pair never gives the same file.
    assert encrypt_pair(KEY, SECRET, master) != text


def test_wrong_master_key_and_tampering_are_one_line_without_secrets() -> None:
    master = Fernet(new_master_key())
    data = tomllib.loads(encrypt_pair(KEY, SECRET, master))
    with pytest.raises(ConfigError, match="does not open this file") as wrong:
        decrypt_pair(data, Fernet(new_master_key()), "secrets file s.toml")
    tampered = dict(data, payload=data["payload"][:-6] + "AAAAAA")
    with pytest.raises(ConfigError, match="payload does not decrypt") as changed:
        decrypt_pair(tampered, master, "secrets file s.toml")
    for exc in (wrong.value, changed.value):
        assert "\n" not in str(exc)
        assert SECRET not in str(exc)
        assert KEY not in str(exc)
        assert str(exc).startswith("secrets file s.toml: ")


@pytest.mark.parametrize(("data", "why"), [
    ({"format": "bitunix-secrets/9", "data_key": "a", "payload": "b"}, "format must be"),
    ({"format": "bitunix-secrets/1", "data_key": 3, "payload": "b"}, "needs data_key"),
])
def test_bad_encrypted_files_are_refused(data: dict[str, object], why: str) -> None:
    with pytest.raises(ConfigError, match=why):
        decrypt_pair(data, Fernet(new_master_key()), "f")


def test_a_payload_that_is_not_a_pair_is_refused() -> None:
    master = Fernet(new_master_key())
    data_key = Fernet.generate_key()
    for plain in (b"not json", b'["a"]', b'{"api_key": "k", "api_secret": ""}'):
        data = {"format": "bitunix-secrets/1",
                "data_key": master.encrypt(data_key).decode(),
                "payload": Fernet(data_key).encrypt(plain).decode()}
        with pytest.raises(ConfigError, match="not a key pair"):
            decrypt_pair(data, master, "f")
    with pytest.raises(ConfigError, match="must both be non-empty"):
        encrypt_pair("", SECRET, master)


def test_rotate_changes_the_data_key_and_can_change_the_master_key() -> None:
    old = Fernet(new_master_key())
    text = encrypt_pair(KEY, SECRET, old)
    same = rotate(text, old, "f")
    assert tomllib.loads(same)["data_key"] != tomllib.loads(text)["data_key"]
    assert decrypt_pair(tomllib.loads(same), old, "f") == (KEY, SECRET)
    new = Fernet(new_master_key())
    moved = rotate(text, old, "f", new)
    assert decrypt_pair(tomllib.loads(moved), new, "f") == (KEY, SECRET)
    with pytest.raises(ConfigError, match="does not open"):
        decrypt_pair(tomllib.loads(moved), old, "f")
    with pytest.raises(ConfigError, match="not valid TOML"):
        rotate("= nope", old, "f")


def test_master_key_from_environment_or_owner_only_file(tmp_path: Path) -> None:
    key = new_master_key()
    token = Fernet(key).encrypt(b"x")
    assert master_key({"BITUNIX_SECRETS_KEY": key}).decrypt(token) == b"x"
    key_file = _write(tmp_path / "master.key", key + "\n")
    assert master_key({"BITUNIX_SECRETS_KEY_FILE": str(key_file)}).decrypt(token) == b"x"
    with pytest.raises(ConfigError, match="set BITUNIX_SECRETS_KEY"):
        master_key({})
    with pytest.raises(ConfigError, match="environment BITUNIX_SECRETS_KEY: not a secrets key"):
        master_key({"BITUNIX_SECRETS_KEY": "short"})
    key_file.chmod(0o640)
    with pytest.raises(ConfigError, match=r"secrets key file .*master.key: readable by others "
                                          r"\(mode -rw-r-----\); run: chmod 600"):
        read_key_file(key_file)
    with pytest.raises(ConfigError, match="does not exist"):
        read_key_file(tmp_path / "none.key")
    bad = _write(tmp_path / "bad.key", "not a key")
    with pytest.raises(ConfigError, match=r"secrets key file .*bad.key: not a secrets key"):
        read_key_file(bad)


def test_write_owner_only_is_0600_and_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "s.toml"
    write_owner_only(path, "one")
    assert path.stat().st_mode & 0o777 == 0o600
    write_owner_only(path, "two")
    assert path.read_text() == "two"
    assert [p.name for p in tmp_path.iterdir()] == ["s.toml"]  # no temporary left
    check_owner_only(path, "x")
    with pytest.raises(ConfigError, match="cannot write"):
        write_owner_only(tmp_path / "missing-dir" / "s.toml", "x")


def test_load_secrets_opens_the_encrypted_file(tmp_path: Path) -> None:
    key = new_master_key()
    path = _write(tmp_path / "s.toml", encrypt_pair(KEY, SECRET, Fernet(key)))
    pair = load_secrets({"BITUNIX_SECRETS_KEY": key}, str(path))
    assert pair is not None
    assert (pair.api_key, pair.api_secret) == (KEY, SECRET)
    assert SECRET not in repr(pair)
    # The environment's pair still wins; without the master key the file cannot open.
    env_pair = load_secrets({"BITUNIX_API_KEY": "k2", "BITUNIX_API_SECRET": "s2"}, str(path))
    assert env_pair is not None
    assert env_pair.api_key == "k2"
    with pytest.raises(ConfigError, match="the secrets file is encrypted: set"):
        load_secrets({}, str(path))
    path.chmod(0o604)
    with pytest.raises(ConfigError, match="readable by others"):
        load_secrets({"BITUNIX_SECRETS_KEY": key}, str(path))


def test_check_owner_only_refuses_group_access(tmp_path: Path) -> None:
    path = _write(tmp_path / "f", "x", 0o620)
    with pytest.raises(ConfigError, match=r"thing .*/f: readable by others \(mode -rw--w----\)"):
        check_owner_only(path, "thing")
    assert os.access(path, os.R_OK)
