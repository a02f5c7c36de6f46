"""install_logging and the [log] section: the format chosen once, the file, bad values."""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bitunix.config import load_config
from bitunix.core.errors import ConfigError
from bitunix.logs import ArchivingFileHandler, install_logging
from bitunix.logs.setup import LogFile


@contextlib.contextmanager
def _bare() -> Iterator[logging.Logger]:
    root = logging.getLogger()
    saved, level = list(root.handlers), root.level
    for handler in saved:
        root.removeHandler(handler)
    yield root
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in saved:
        root.addHandler(handler)
    root.setLevel(level)



def test_json_on_stderr_and_in_the_file_with_secrets_masked(
        tmp_path: Path) -> None:
    with _bare() as root:
        _json_and_file(root, tmp_path)


def _json_and_file(bare_root: logging.Logger, tmp_path: Path) -> None:
    stream = io.StringIO()
    install = install_logging("INFO", fmt="json", secrets=["sk-live-123456"], stream=stream,
                              file=LogFile(path=str(tmp_path / "bot.log")))
    logging.getLogger("bitunix.x").info("key %s", "sk-live-123456")
    logging.getLogger("bitunix.x").debug("not at INFO")
    assert isinstance(install.file_handler, ArchivingFileHandler)
    install.mask(["rotated-key-789"])  # a key pair rotated while the bot runs
    logging.getLogger("bitunix.x").info("new key %s", "rotated-key-789")
    install.close()
    assert bare_root.handlers == []
    for text in (stream.getvalue(), (tmp_path / "bot.log").read_text()):
        assert [json.loads(line)["msg"] for line in text.splitlines()] == [
            "key ***", "new key ***"]


def test_a_second_install_replaces_the_first() -> None:
    with _bare() as root:
        _second_replaces(root)


def _second_replaces(bare_root: logging.Logger) -> None:
    first, second = io.StringIO(), io.StringIO()
    outer = install_logging("WARNING", stream=first)
    install = install_logging("DEBUG", fmt="json", stream=second)
    assert len(bare_root.handlers) == 1
    logging.getLogger("bitunix.y").debug("once")
    install.close()
    assert first.getvalue() == ""
    assert json.loads(second.getvalue())["msg"] == "once"
    assert install.file_handler is None
    # the first install is back: the process logs on after a command's own logging ended
    assert bare_root.handlers == outer.handlers
    assert bare_root.level == logging.WARNING
    logging.getLogger("bitunix.y").warning("after")
    outer.close()
    assert first.getvalue().endswith('msg=after\n')
    assert bare_root.handlers == []


def test_someone_elses_handlers_are_left_alone() -> None:
    with _bare() as root:
        _theirs(root)


def _theirs(bare_root: logging.Logger) -> None:
    theirs = logging.StreamHandler(io.StringIO())
    bare_root.addHandler(theirs)
    install = install_logging("DEBUG", stream=io.StringIO())
    assert bare_root.handlers == [theirs]  # as logging.basicConfig does
    install.close()


def _config(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bot.toml"
    path.write_text(text)
    load_config(path, {})


@pytest.mark.parametrize(("text", "message"), [
    ('[log]\nformat = "xml"', "key log.format: Invalid enum value 'xml'"),
    ('[log]\nlevel = "LOUD"', "key log.level: Invalid enum value 'LOUD'"),
    ('[log]\nrotate = "weekly"', "key log.rotate: Invalid enum value 'weekly'"),
    ("[log]\nkeep_days = 0", "key log.keep_days: must be an integer >= 1, was 0"),
    ("[log]\nkeep_days = -3", "key log.keep_days: must be an integer >= 1, was -3"),
    ("[log]\nmax_bytes = 10", "key log.max_bytes: must be an integer >= 1024, was 10"),
    ('[log]\nfile = "/no/such/dir/bot.log"',
     "key log.file: directory /no/such/dir does not exist"),
    ("[log]\ncolour = true", "unknown key log.colour"),
])
def test_bad_log_values_name_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as exc:
        _config(tmp_path, text)
    assert "\n" not in str(exc.value)


def test_a_directory_is_not_a_log_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"key log\.file: .* is a directory"):
        _config(tmp_path, f'[log]\nfile = "{tmp_path}"')


def test_defaults(tmp_path: Path) -> None:
    log = load_config(None, {}).log
    assert (log.format, log.level, log.file, log.rotate, log.keep_days) == (
        "kv", "", "", "size", 14)
