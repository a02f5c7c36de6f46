"""``bitunix-bot api token``: the token once, and the configuration lines that load."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bitunix.api.tokens import TokenTable, hash_token
from bitunix.cli import main
from bitunix.config import load_config
from tests.app.conftest import BUSY, MODELS, capture_slice  # noqa: F401 (a fixture)


def test_token_prints_the_token_and_a_loadable_hash_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["api", "token", "--name", "grafana", "--scopes", "read, trade"]) == 0
    out = capsys.readouterr().out
    token, comment, *toml = out.splitlines()
    assert token.startswith("bxa_")
    assert comment.startswith("#")
    path = tmp_path / "bot.toml"
    path.write_text("[api]\nenabled = true\n" + "\n".join(toml) + "\n")
    config = load_config(path, {})
    [entry] = config.api.tokens
    assert (entry.name, entry.scopes, entry.sha256) == ("grafana", ["read", "trade"],
                                                        hash_token(token))
    assert TokenTable(config.api.tokens).find(token) is entry
    assert token not in path.read_text()
    assert tomllib.loads(path.read_text())["api"]["enabled"] is True


@pytest.mark.parametrize(("argv", "words"), [
    (["--name", "a b"], "--name: 'a b' is not a name"),
    (["--name", "x", "--scopes", "read,root"], "--scopes: unknown scope 'root'"),
    (["--name", "x", "--scopes", ","], "--scopes: empty"),
])
def test_bad_flags_are_one_line(argv: list[str], words: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["api", "token", *argv]) != 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert words in captured.err
    assert "Traceback" not in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def _run(tmp_path: Path, data: Path | None, toml: str) -> int:
    config = tmp_path / "bot.toml"
    config.write_text(toml + BUSY)
    argv = ["run", "--config", str(config), "--store", str(tmp_path / "s.sqlite"),
            "--models-dir", str(MODELS)]
    if data is not None:
        argv += ["--data", str(data), "--speed", "30", "--duration", "30"]
    return main(argv)


_API = f'[api]\nenabled = true\n[[api.tokens]]\nname = "ci"\nsha256 = "{"a" * 64}"\n' \
       'scopes = ["read"]\n'


def test_run_serves_the_api_on_its_listener(tmp_path: Path, capture_slice: Path,  # noqa: F811
                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert _run(tmp_path, capture_slice, "[http]\nport = 0\n" + _API) == 0
    assert "dashboard: http://127.0.0.1:" in capsys.readouterr().out


@pytest.mark.parametrize(("toml", "words"), [
    ("[http]\nenabled = false\n" + _API, "key api.enabled: the control API is served on "
                                        "the [http] listener"),
    ('[http]\nallow = ["10.0.0.1/8"]\n', "key http.allow: '10.0.0.1/8'"),
    ("[api]\nenabled = true\n", "key api.tokens: api.enabled = true needs at least one"),
])
def test_run_refuses_an_unusable_api_or_allowlist_in_one_line(
    tmp_path: Path, toml: str, words: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _run(tmp_path, None, toml) == 1
    captured = capsys.readouterr()
    assert words in captured.err
    assert len(captured.err.strip().splitlines()) == 1
    assert "Traceback" not in captured.out + captured.err
