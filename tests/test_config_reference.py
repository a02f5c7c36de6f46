"""docs/config-reference.md is generated from the config types and kept in step with them."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Literal

import msgspec
import pytest
from tools.config_reference import DEFAULT_OUT, main, render, sections

from bitunix.config import BotConfig


def test_the_committed_page_is_what_the_types_generate() -> None:
    committed = DEFAULT_OUT.read_text(encoding="utf-8")
    assert committed == render(), (
        "docs/config-reference.md differs from the configuration types (a key was added, "
        "removed or changed): run `make docs` and commit the page")


def _keys(cls: type[msgspec.Struct], prefix: str = "") -> set[str]:
    """Every dotted leaf key of ``cls``, walked independently of the tool."""
    out: set[str] = set()
    for field in msgspec.structs.fields(cls):
        default = field.default_factory() if field.default is msgspec.NODEFAULT else None
        if isinstance(default, msgspec.Struct):
            out |= _keys(type(default), f"{prefix}{field.name}.")
        else:
            out.add(prefix + field.name)
    return out


def test_every_key_of_bot_config_has_a_row_in_its_section() -> None:
    rows = {(s.name + "." if s.name != "(top level)" else "") + k.name
            for s in sections(BotConfig) for k in s.keys}
    assert _keys(BotConfig) <= rows
    assert "risk.limits.max_daily_loss_pct" in rows
    assert "venue.kind" in rows
    assert "dry_run" in rows


class _Inner(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A nested table. ``depth``: how deep it goes; ``label`` / ``tag``: names."""

    depth: int = 3
    label: str = "x"
    tag: Literal["a", "b"] = "a"


class _Item(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One item of an array of tables."""

    kind: str
    weight: float | None = None


class _Sample(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A sample config. ``rate`` is the speed (per second)."""

    #: Money, kept exact.
    #: Two comment lines make one meaning.
    balance: Decimal = Decimal("10.50")
    rate: float = 2.5
    enabled: bool = False
    inner: _Inner = msgspec.field(default_factory=_Inner)
    items: list[_Item] = msgspec.field(default_factory=lambda: [_Item(kind="k1")])
    per_name: dict[str, _Inner] = msgspec.field(default_factory=dict)


def test_a_page_lists_types_defaults_and_meanings() -> None:
    text = render(_Sample)
    assert ("| `balance` | decimal | `\"10.50\"` | Money, kept exact. "
            "Two comment lines make one meaning. |") in text
    assert "| `rate` | float | `2.5` | `rate` is the speed (per second). |" in text
    assert "| `enabled` | bool | `false` |  |" in text
    assert "## [inner]" in text
    assert "| `depth` | int | `3` | `depth`: how deep it goes. |" in text
    # A clause that names two keys serves both.
    assert "| `label` | string | `\"x\"` | `label` / `tag`: names. |" in text
    assert "| `tag` | \"a\" \\| \"b\" | `\"a\"` | `label` / `tag`: names. |" in text
    assert "## [[items]]" in text
    assert "| `kind` | string | `(required)` |  |" in text
    assert "| `weight` | float (optional) | `(none)` |  |" in text
    assert '`[{kind = "k1"}]`' in text
    assert "## [per_name.NAME]" in text
    assert "| `per_name` | table of tables | `{}` |" in text


def test_check_fails_on_a_stale_page_and_passes_on_a_fresh_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    page = tmp_path / "config-reference.md"
    assert main(["--out", str(page)]) == 0
    assert main(["--check", str(page)]) == 0
    # A key the page does not know yet: what adding a field without `make docs` looks like.
    page.write_text(page.read_text().replace("| `dry_run` |", "| `dry_run_old` |"))
    assert main(["--check", str(page)]) == 1
    assert "run `make docs`" in capsys.readouterr().err
    assert main(["--check", str(tmp_path / "missing.md")]) == 1
