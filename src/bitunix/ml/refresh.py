"""Scheduled model refresh: train on new data, shadow it live, then promote or discard it.

One refresh (:func:`refresh_once`, run by ``bitunix-bot retrain``) does, under the
registry's refresh lock:

1. If an earlier refresh left a shadow under comparison (``refresh.json`` in the registry),
   judge it on the figures the running bot saved in its store (``ShadowFigures`` under
   :data:`~bitunix.ml.shadow.SHADOW_STATE_KEY`) by :func:`judge`: promote it (it becomes
   active; the bot hot-swaps to it and the old model can be rolled back to), discard it
   (retired), or wait (nothing changes; the next refresh looks again).
2. Unless it waits, train a model on the latest recordings (the caller's ``train``) and
   make it the shadow: a running bot scores it beside the active model from its next
   model poll.

Every promote, discard, new shadow or abandoned comparison is audited in the store
(action ``model_refresh``: who, when, the model, the figures, the rule, the decision) and
in ``refresh-audit.jsonl`` beside the registry index.

The rule (:class:`RefreshRule`, :func:`judge`), on the champion's closed trades that the
shadow also scored, once the shadow has been scored live for ``compare_s``:

* fewer than ``min_decisions`` such trades: wait;
* promote when the shadow's hit rate on the trades it would have taken too is at least
  the champion's hit rate minus ``hit_rate_margin`` and its Brier score on all of them is
  at most the champion's plus ``max_brier_worse``;
* otherwise (or when the shadow would have taken none of them) discard.
"""

from __future__ import annotations

import errno
import fcntl
import math
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, Protocol

import msgspec

from bitunix.core.errors import ConfigError
from bitunix.ml.errors import RegistryError
from bitunix.ml.registry import ModelRegistry, RegistryEntry, model_id
from bitunix.ml.shadow import SHADOW_STATE_KEY, ShadowFigures, decode_figures
from bitunix.model.records import AuditEntry

PENDING_NAME = "refresh.json"
AUDIT_LOG_NAME = "refresh-audit.jsonl"
LOCK_NAME = ".refresh.lock"
AUDIT_ACTION = "model_refresh"
_NS = 1_000_000_000

Action = Literal["promote", "discard", "wait"]


class RefreshRule(msgspec.Struct, frozen=True, kw_only=True):
    """When a shadow is promoted or discarded (see the module doc); defaults: 50 trades,
    24 h of live comparison, hit rate at least the champion's, Brier at most 0.01 worse."""

    min_decisions: int = 50
    compare_s: float = 86_400.0
    hit_rate_margin: float = 0.0
    max_brier_worse: float = 0.01

    def __post_init__(self) -> None:
        if self.min_decisions < 1:
            raise ConfigError(f"refresh rule: min_decisions must be >= 1, was "
                              f"{self.min_decisions}")
        for name in ("compare_s", "hit_rate_margin", "max_brier_worse"):
            value = getattr(self, name)
            if not (value >= 0.0 and math.isfinite(value)):
                raise ConfigError(f"refresh rule: {name} must be a finite number >= 0, "
                                  f"was {value!r}")

    def text(self) -> str:
        """The rule in one line (audit entries, the command's output)."""
        return (f">= {self.min_decisions} live trades after {self.compare_s:g} s; shadow hit "
                f"rate >= champion's - {self.hit_rate_margin:g}; shadow Brier <= champion's "
                f"+ {self.max_brier_worse:g}")


class Verdict(msgspec.Struct, frozen=True, kw_only=True):
    """What :func:`judge` decided and why."""

    action: Action
    reason: str


def judge(figures: ShadowFigures | None, rule: RefreshRule, now_ns: int) -> Verdict:
    """Promote, discard or wait for the shadow described by ``figures`` (pure)."""
    if figures is None:
        return Verdict(action="wait", reason="no live figures for the shadow yet (a bot "
                       "scores it from its next model poll)")
    elapsed_s = (now_ns - figures.since_ns) / _NS
    if elapsed_s < rule.compare_s:
        return Verdict(action="wait", reason=f"compared live for {elapsed_s:.0f} s of "
                       f"{rule.compare_s:g} s")
    n = figures.outcomes
    if n < rule.min_decisions:
        return Verdict(action="wait", reason=f"{n} of {rule.min_decisions} live trades with "
                       "an outcome")
    if figures.challenger_approved == 0:
        return Verdict(action="discard", reason=f"the shadow would have taken none of the "
                       f"{n} trades")
    champion_rate = figures.hits / n
    shadow_rate = figures.challenger_hits / figures.challenger_approved
    champion_brier = figures.champion_brier if figures.champion_brier is not None else 0.0
    shadow_brier = figures.challenger_brier if figures.challenger_brier is not None else 1.0
    numbers = (f"hit rate {shadow_rate:.3f} on {figures.challenger_approved} vs "
               f"{champion_rate:.3f} on {n}, Brier {shadow_brier:.4f} vs {champion_brier:.4f}")
    problems = []
    if shadow_rate < champion_rate - rule.hit_rate_margin:
        problems.append("hit rate below the champion's")
    if shadow_brier > champion_brier + rule.max_brier_worse:
        problems.append("Brier worse than allowed")
    if problems:
        return Verdict(action="discard", reason=f"{'; '.join(problems)}: {numbers}")
    return Verdict(action="promote", reason=f"matches or beats the champion: {numbers}")


class PendingRefresh(msgspec.Struct, frozen=True, kw_only=True):
    """The shadow a refresh put under comparison (``refresh.json`` in the registry)."""

    model: str
    shadowed_ns: int
    data: str = ""


class RefreshStore(Protocol):
    """What a refresh needs of the bot's store (``bitunix.store.SqliteStore`` is one)."""

    def state(self, key: str) -> str | None:
        """A named value (None: never set)."""

    def record_audit(self, entry: AuditEntry) -> None:
        """Append an audit entry."""


class RefreshResult(msgspec.Struct, frozen=True, kw_only=True):
    """What one refresh did: the judged model and verdict (if one was pending), the
    figures used, and the new shadow (None when the refresh waits)."""

    judged: str | None
    verdict: Verdict | None
    figures: ShadowFigures | None
    shadow: str | None


@contextmanager
def refresh_lock(root: Path) -> Iterator[None]:
    """Hold the registry's refresh lock (one refresh at a time); RegistryError if taken."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        fd = os.open(root / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise RegistryError(f"registry {root}: cannot create the refresh lock: "
                            f"{exc.strerror or exc}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EAGAIN, errno.EACCES):
                raise
            holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "?"
            raise RegistryError(f"registry {root} is locked by another refresh (pid "
                                f"{holder}); try again when it is done") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the lock


def read_pending(root: Path) -> PendingRefresh | None:
    """The pending comparison recorded in the registry (None: none)."""
    path = root / PENDING_NAME
    if not path.exists():
        return None
    try:
        return msgspec.json.decode(path.read_bytes(), type=PendingRefresh)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RegistryError(f"{path} is unreadable: {exc}") from None


def _write_pending(root: Path, pending: PendingRefresh | None) -> None:
    path = root / PENDING_NAME
    if pending is None:
        path.unlink(missing_ok=True)
        return
    tmp = path.with_suffix(".json.tmp")
    tmp.write_bytes(msgspec.json.encode(pending) + b"\n")
    os.replace(tmp, path)


def read_figures(store: RefreshStore) -> ShadowFigures | None:
    """The shadow figures the running bot last saved (None: none saved)."""
    text = store.state(SHADOW_STATE_KEY)
    if not text:
        return None
    try:
        return decode_figures(text)
    except (msgspec.DecodeError, msgspec.ValidationError) as exc:
        raise RegistryError(f"the store's {SHADOW_STATE_KEY} is unreadable: {exc}") from None


def _figures_detail(figures: ShadowFigures | None) -> dict[str, str]:
    if figures is None:
        return {}
    return {f"live.{k}": "" if v is None else str(v)
            for k, v in msgspec.structs.asdict(figures).items()}


class Refresher:
    """One registry, one store, one rule: see the module doc and :meth:`once`."""

    def __init__(self, registry: ModelRegistry, store: RefreshStore, rule: RefreshRule, *,
                 who: str, now_ns: Callable[[], int]) -> None:
        self.registry = registry
        self.store = store
        self.rule = rule
        self.who = who
        self.now_ns = now_ns

    def once(self, train: Callable[[], tuple[RegistryEntry, str]]) -> RefreshResult:
        """Judge the pending shadow, then (unless it waits) train and shadow a new model.

        ``train`` trains and registers a model and returns its entry and a description of
        the data it was trained on. Errors: RegistryError (lock held, unreadable state), the
        trainer's errors (no recordings, too few samples) with nothing changed."""
        root = self.registry.root
        with refresh_lock(root):
            self.registry.entries()  # a broken index is refused before anything else
            judged, verdict, figures = self._settle(read_pending(root))
            if verdict is not None and verdict.action == "wait":
                return RefreshResult(judged=judged, verdict=verdict, figures=figures,
                                     shadow=None)
            entry, data = train()
            self.registry.shadow(entry.name, entry.version)
            new = model_id(entry.name, entry.version)
            now = self.now_ns()
            _write_pending(root, PendingRefresh(model=new, shadowed_ns=now, data=data))
            self._audit(now, "shadow", new, f"trained on {data}; compared live before a "
                        "promote or discard", None)
            return RefreshResult(judged=judged, verdict=verdict, figures=figures, shadow=new)

    def _settle(self, pending: PendingRefresh | None
                ) -> tuple[str | None, Verdict | None, ShadowFigures | None]:
        if pending is None:
            return None, None, None
        root = self.registry.root
        shadow = self.registry.with_status("shadow")
        if shadow is None or model_id(shadow.name, shadow.version) != pending.model:
            # Someone changed the registry by hand (promoted, retired, another shadow).
            now = self.now_ns()
            verdict = Verdict(action="discard", reason=f"{pending.model} is no longer the "
                              "shadow (changed by hand): the comparison is abandoned")
            self._audit(now, "abandon", pending.model, verdict.reason, None)
            _write_pending(root, None)
            return pending.model, verdict, None
        figures = read_figures(self.store)
        active = self.registry.with_status("active")
        active_id = "" if active is None else model_id(active.name, active.version)
        now = self.now_ns()
        if figures is not None and (figures.challenger != pending.model
                                    or figures.champion != active_id):
            verdict = Verdict(action="wait", reason=(
                f"the store's live figures are for {figures.challenger or 'no model'} against "
                f"{figures.champion or 'no model'}, not {pending.model} against "
                f"{active_id or 'no model'} (the bot scores a new shadow from its next "
                "start)"))
            return pending.model, verdict, figures
        verdict = judge(figures, self.rule, now)
        if verdict.action == "promote":
            self.registry.promote(shadow.name, shadow.version)
        elif verdict.action == "discard":
            self.registry.retire(shadow.name, shadow.version)
        if verdict.action != "wait":
            self._audit(now, verdict.action, pending.model, verdict.reason, figures)
            _write_pending(root, None)
        return pending.model, verdict, figures

    def _audit(self, now_ns: int, decision: str, model: str, why: str,
               figures: ShadowFigures | None) -> None:
        detail = {"by": self.who, "decision": decision, "why": why, "rule": self.rule.text(),
                  **_figures_detail(figures)}
        entry = AuditEntry(ts_ns=now_ns, action=AUDIT_ACTION, strategy="retrain",
                           reason=decision, model=model, detail=detail)
        self.store.record_audit(entry)
        path = self.registry.root / AUDIT_LOG_NAME
        with path.open("ab") as fh:
            fh.write(msgspec.json.encode(entry) + b"\n")
