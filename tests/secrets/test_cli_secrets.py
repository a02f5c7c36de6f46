"""``bitunix-bot secrets``: keygen, encrypt (environment or stdin, never argv), rotate-key,
check; refusals in one line; no secret in any output."""

from __future__ import annotations

import io
import tomllib
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from bitunix import cli
from bitunix.config import load_secrets
from bitunix.config.secrets import decrypt_pair

KEY, SECRET = "ak-cli-test-key-0001", "sk-cli-test-secret-0001"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A clean environment with a master key file made by ``secrets keygen``."""
    for name in ("BITUNIX_API_KEY", "BITUNIX_API_SECRET", "BITUNIX_SECRET_KEY",
                 "BITUNIX_SECRETS_KEY", "BITUNIX_SECRETS_KEY_FILE", "BITUNIX_SECRETS_FILE"):
        monkeypatch.delenv(name, raising=False)
    key_file = tmp_path / "master.key"
    assert cli.main(["secrets", "keygen", "--out", str(key_file)]) == 0
    monkeypatch.setenv("BITUNIX_SECRETS_KEY_FILE", str(key_file))
    return key_file


def _out(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


def test_encrypt_from_environment_then_check_and_rotate(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    assert env.stat().st_mode & 0o777 == 0o600
    monkeypatch.setenv("BITUNIX_API_KEY", KEY)
    monkeypatch.setenv("BITUNIX_API_SECRET", SECRET)
    out = tmp_path / "secrets.toml"
    assert cli.main(["secrets", "encrypt", "--out", str(out)]) == 0
    assert out.stat().st_mode & 0o777 == 0o600
    assert KEY not in out.read_text()
    assert SECRET not in out.read_text()
    master = Fernet(env.read_bytes().strip())
    assert decrypt_pair(tomllib.loads(out.read_text()), master, "f") == (KEY, SECRET)
    before = out.read_text()
    assert cli.main(["secrets", "rotate-key", "--file", str(out)]) == 0
    assert out.read_text() != before
    assert cli.main(["secrets", "check", "--file", str(out)]) == 0
    text = _out(capsys)
    assert "ok: " in text
    assert "(encrypted)" in text
    assert "rotated" in text
    assert KEY not in text
    assert SECRET not in text


def test_encrypt_reads_stdin_when_the_environment_has_no_pair(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{KEY}\n{SECRET}\n"))
    out = tmp_path / "s.toml"
    assert cli.main(["secrets", "encrypt", "--out", str(out)]) == 0
    pair = load_secrets({"BITUNIX_SECRETS_KEY_FILE": str(env)}, str(out))
    assert pair is not None
    assert (pair.api_key, pair.api_secret) == (KEY, SECRET)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{KEY}\n"))
    assert cli.main(["secrets", "encrypt", "--out", str(tmp_path / "t.toml")]) == 1
    text = _out(capsys)
    assert "stdin: expected 2 lines (the api key, then the api secret), got 1" in text
    assert KEY not in text
    assert SECRET not in text
    assert not (tmp_path / "t.toml").exists()


def test_master_key_rotation_moves_the_file_to_the_new_key(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BITUNIX_API_KEY", KEY)
    monkeypatch.setenv("BITUNIX_API_SECRET", SECRET)
    out = tmp_path / "s.toml"
    assert cli.main(["secrets", "encrypt", "--out", str(out)]) == 0
    new_key = tmp_path / "new.key"
    assert cli.main(["secrets", "keygen", "--out", str(new_key)]) == 0
    monkeypatch.setenv("BITUNIX_SECRETS_FILE", str(out))
    assert cli.main(["secrets", "rotate-key", "--new-key-file", str(new_key)]) == 0
    monkeypatch.setenv("BITUNIX_SECRETS_KEY_FILE", str(new_key))
    assert cli.main(["secrets", "check"]) == 0
    monkeypatch.setenv("BITUNIX_SECRETS_KEY_FILE", str(env))
    assert cli.main(["secrets", "check"]) == 1


@pytest.mark.parametrize("mode", [0o640, 0o604])
def test_group_or_world_readable_files_are_refused(
        env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str], mode: int) -> None:
    monkeypatch.setenv("BITUNIX_API_KEY", KEY)
    monkeypatch.setenv("BITUNIX_API_SECRET", SECRET)
    out = tmp_path / "s.toml"
    assert cli.main(["secrets", "encrypt", "--out", str(out)]) == 0
    out.chmod(mode)
    assert cli.main(["secrets", "check", "--file", str(out)]) == 1
    assert cli.main(["secrets", "rotate-key", "--file", str(out)]) == 1
    out.chmod(0o600)
    env.chmod(mode)
    assert cli.main(["secrets", "check", "--file", str(out)]) == 1
    lines = [line for line in _out(capsys).splitlines() if "error" in line]
    assert len(lines) == 3
    assert "secrets file" in lines[0]
    assert "readable by others" in lines[0]
    assert "secrets key file" in lines[2]
    assert "chmod 600" in lines[2]


def test_refusals_are_one_line(env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                               capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["secrets", "keygen", "--out", str(env)]) == 1
    assert cli.main(["secrets", "check"]) == 1
    monkeypatch.setenv("BITUNIX_API_KEY", KEY)
    assert cli.main(["secrets", "encrypt", "--out", str(tmp_path / "x.toml")]) == 1
    plain = tmp_path / "plain.toml"
    plain.write_text(f'api_key = "{KEY}"\napi_secret = "{SECRET}"\n')
    plain.chmod(0o600)
    monkeypatch.delenv("BITUNIX_API_KEY")
    assert cli.main(["secrets", "check", "--file", str(plain)]) == 0
    text = _out(capsys)
    assert "--out" in text
    assert "exists already" in text
    assert "--file: name the secrets file" in text
    assert "BITUNIX_API_SECRET is not set" in text
    assert "plain TOML (not encrypted" in text
    assert SECRET not in text


def test_the_pair_is_never_a_command_line_argument() -> None:
    parser = cli.build_parser()
    with pytest.raises(SystemExit):
        parser.parse_args(["secrets", "encrypt", "--out", "f", "--api-secret", SECRET])
