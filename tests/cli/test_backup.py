"""``bitunix-bot backup`` and ``restore`` from the command line."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bitunix.cli import main
from bitunix.store import Lease, SqliteStore


def test_backup_then_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = tmp_path / "state.sqlite"
    with SqliteStore(store) as s:
        s.set_state("k", "v1")
    dest = tmp_path / "b.sqlite"
    assert main(["backup", str(dest), "--store", str(store)]) == 0
    assert "backed up" in capsys.readouterr().out
    with SqliteStore(store) as s:
        s.set_state("k", "v2")
    assert main(["restore", str(dest), "--store", str(store)]) == 0
    out = capsys.readouterr().out
    assert "kept as" in out
    with SqliteStore(store) as s:
        assert s.state("k") == "v1"


def test_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "missing.sqlite"
    assert main(["backup", str(tmp_path / "b"), "--store", str(missing)]) == 1
    err = capsys.readouterr().err
    assert "missing.sqlite: does not exist" in err
    assert "Traceback" not in err
    store = tmp_path / "state.sqlite"
    SqliteStore(store).close()
    backup = tmp_path / "b.sqlite"
    assert main(["backup", str(backup), "--store", str(store)]) == 0
    lease = Lease(store, "bot-1", ttl_s=60, now_ns=time.time_ns)
    assert lease.try_acquire()
    assert main(["restore", str(backup), "--store", str(store)]) == 1
    assert "in use by the running bot 'bot-1'" in capsys.readouterr().err
    lease.close()


def test_the_default_store_is_the_one_here(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["backup", "b1.sqlite"]) == 1
    assert "neither bitunix-state.sqlite nor bitunix-paper.sqlite" in capsys.readouterr().err
    SqliteStore(tmp_path / "bitunix-paper.sqlite").close()  # what make run leaves
    assert main(["backup", "b1.sqlite"]) == 0
    assert "backed up bitunix-paper.sqlite to b1.sqlite" in capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b1.sqlite", "bitunix-paper.sqlite"]
    assert main(["restore", "b1.sqlite"]) == 0
    assert "restored bitunix-paper.sqlite" in capsys.readouterr().out
    SqliteStore(tmp_path / "bitunix-state.sqlite").close()
    assert main(["backup", "b2.sqlite"]) == 1
    assert "both bitunix-state.sqlite and bitunix-paper.sqlite" in capsys.readouterr().err
