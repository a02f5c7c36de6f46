"""``bitunix-bot api token``: the token once, and the configuration lines that load."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from bitunix.api.tokens import TokenTable, hash_token
from bitunix.cli import main
from bitunix.config import load_config


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
