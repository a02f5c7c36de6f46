"""``bitunix-bot run``: the trading bot, on the built-in simulator (paper) by default."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from bitunix.config import BotConfig, Mode, Secrets
    from bitunix.config.notify import NotifySecrets
    from bitunix.integrations.wiring import Integrations
    from bitunix.logs import LoggingInstall

_EPILOG = """\
modes: paper (the default: orders go to the built-in simulator on 127.0.0.1), dry-run
(decisions recorded, nothing sent; --dry-run, or any other venue without the live
switch), live (only with dry_run = false in the config AND FORCE_LIVE_TRADING=true in the
environment). Secrets come only from BITUNIX_API_KEY / BITUNIX_API_SECRET or an owner-only
file (venue.secrets_file). Exit status: 0 clean, 1 failed (the summary says why), 130
interrupted."""


def register(subparsers: Any) -> None:
    """Add the ``run`` command."""
    parser = subparsers.add_parser(
        "run",
        help="run the trading bot (paper on the built-in simulator by default)",
        description=(
            "Run the bot: market data through the native features and the strategies, "
            "signals through risk into orders, positions and PnL reconciled with the venue "
            "and kept in the state store. By default the venue is the built-in simulator "
            "on 127.0.0.1 replaying the bundled real BTCUSDT capture (paper trading); "
            "nothing reaches the real exchange unless live trading is switched on."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--config", help="TOML configuration file (every key is optional)")
    parser.add_argument("--venue", choices=("sim", "bitunix"),
                        help="sim: the built-in simulator (default); bitunix: the real "
                             "exchange or any Bitunix-compatible server at the URLs")
    parser.add_argument("--rest-url", help="REST base URL of a Bitunix-compatible server")
    parser.add_argument("--ws-public-url", help="its public WebSocket URL")
    parser.add_argument("--ws-private-url", help="its private WebSocket URL")
    parser.add_argument("--symbols", help="comma-separated symbols, upper case (default BTCUSDT)")
    parser.add_argument("--duration", metavar="SECONDS",
                        help="stop after this many seconds (0: until interrupted; default 120)")
    parser.add_argument("--store", metavar="PATH",
                        help="the state store (default bitunix-state.sqlite; a paper run: "
                             "bitunix-paper.sqlite)")
    parser.add_argument("--summary-json", metavar="FILE", help="also write the summary here")
    parser.add_argument("--dry-run", action="store_true",
                        help="record decisions, send nothing (any venue)")
    parser.add_argument("--data", help="market data of the built-in simulator (a capture, a "
                                       "recording, or synthetic[:SEED]; default: bundled)")
    parser.add_argument("--speed", help="the simulator's replay speed (default 20)")
    parser.add_argument("--no-live", action="store_true",
                        help="no live view on a terminal: plain lines, as when stdout is "
                             "not a terminal")
    parser.add_argument("--models-dir",
                        help="model registry directory (default: ./models when it exists, "
                             "else the model shipped with the package)")
    parser.set_defaults(func=run)


def _overrides(args: argparse.Namespace) -> dict[str, tuple[str, object]]:
    """Command-line values as ``dotted key -> (flag, value)``; errors quote the flag's
    text as given (see :func:`run`)."""
    from bitunix.core.errors import ConfigError

    out: dict[str, tuple[str, object]] = {}

    def number(flag: str, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise ConfigError(f"{flag} {text!r}: not a number") from None
        return value

    if args.venue is not None:
        out["venue.kind"] = ("--venue", args.venue)
    for flag, key in (("rest_url", "rest_url"), ("ws_public_url", "ws_public_url"),
                      ("ws_private_url", "ws_private_url")):
        value = getattr(args, flag)
        if value is not None:
            out[f"venue.{key}"] = ("--" + flag.replace("_", "-"), value)
    if args.symbols is not None:
        symbols = [s.strip() for s in args.symbols.split(",") if s.strip()]
        out["symbols"] = ("--symbols", symbols)
    if args.duration is not None:
        out["run.duration_s"] = ("--duration", number("--duration", args.duration))
    if args.data is not None:
        out["sim.data"] = ("--data", args.data)
    if args.speed is not None:
        out["sim.speed"] = ("--speed", number("--speed", args.speed))
    if args.store is not None:
        out["store.path"] = ("--store", args.store)
    return out


def with_models_dir(config: BotConfig, models_dir: str | None, scratch: Path) -> BotConfig:
    """``config`` serving the models of ``models_dir`` (the flag) or of its own
    ``signal.models_dir``; installed from a wheel, away from a checkout (no ``./models``),
    the model shipped with the package, from a registry in ``scratch`` that lives as long
    as the caller keeps it."""
    import msgspec

    from bitunix.ml.bundled import install_bundled_model
    from bitunix.ml.registry import ModelRegistry

    chosen = models_dir or config.signal.models_dir
    if models_dir is None and not Path(chosen or "models").is_dir():
        entry = install_bundled_model(ModelRegistry(scratch))
        print(f"no ./models registry: serving {entry.name}@{entry.version}, "
              "the model shipped with the package", flush=True)
        chosen = str(scratch)
    return msgspec.structs.replace(
        config, signal=msgspec.structs.replace(config.signal, models_dir=chosen))


def install_run_logging(config: BotConfig, flag_level: str | None,
                        secrets: Secrets | None, more: Sequence[str] = ()) -> LoggingInstall:
    """The ``[log]`` section installed (the ``--log-level`` flag wins over
    ``log.level``), with every secret the run knows (and ``more``) masked in every line."""
    from bitunix.app.bot import SIM_API_KEY, SIM_API_SECRET
    from bitunix.logs import install_logging
    from bitunix.logs.setup import LogFile

    section = config.log
    masked = [SIM_API_KEY, SIM_API_SECRET]
    if secrets is not None:
        masked += [secrets.api_key, secrets.api_secret]
    masked += more
    file = None
    if section.file:
        file = LogFile(path=section.file, rotate=section.rotate,
                       max_bytes=section.max_bytes, keep_days=section.keep_days)
    return install_logging(flag_level or section.level or "WARNING", fmt=section.format,
                           secrets=masked, file=file)


def prepare_integrations(config: BotConfig,
                         environ: Mapping[str, str]) -> tuple[NotifySecrets, Integrations]:
    """The notifications' secrets and the integrations (webhooks, paging) of ``config``,
    checked: a channel without its secret is one line naming the key (``run`` and
    ``config check`` both)."""
    from bitunix.config.notify import check_notify, notify_secrets_for
    from bitunix.integrations.wiring import build_integrations

    notify_secrets = notify_secrets_for(config.notify, environ, config.venue.secrets_file)
    check_notify(config.notify, notify_secrets)
    return notify_secrets, build_integrations(config, environ)


def run(args: argparse.Namespace) -> int:
    """Run the bot and print its summary; return the exit code."""
    from bitunix.config import environment, load_config, load_secrets, resolve_mode
    from bitunix.core.errors import ConfigError

    environ = environment()
    overrides = _overrides(args)
    config_path = Path(args.config) if args.config else None
    try:
        config = load_config(config_path, environ,
                             overrides={k: v for k, (_, v) in overrides.items()})
    except ConfigError as exc:
        message = str(exc)
        for key, (flag, value) in overrides.items():
            if f"key {key}" in message or f"key {key.split('.')[0]}:" in message:
                raw = getattr(args, flag.removeprefix("--").replace("-", "_"), value)
                raise ConfigError(f"{flag} {raw!r}: {message.split(': ', 2)[-1]}") from None
        raise
    summary_path = Path(args.summary_json) if args.summary_json else None
    if summary_path is not None and not summary_path.parent.is_dir():
        raise ConfigError(f"--summary-json {summary_path}: directory {summary_path.parent} "
                          "does not exist")
    mode, why = resolve_mode(config, environ, force_dry_run=args.dry_run)
    secrets = load_secrets(environ, config.venue.secrets_file)
    notify_secrets, integrations = prepare_integrations(config, environ)
    logs = install_run_logging(config, args.log_level, secrets,
                               notify_secrets.values() + integrations.secrets)
    try:
        return _run(args, config, mode, why, secrets=secrets, summary_path=summary_path,
                    notify_secrets=notify_secrets, integrations=integrations)
    finally:
        logs.close()


def _run(args: argparse.Namespace, config: BotConfig, mode: Mode, why: str, *,
         secrets: Secrets | None, summary_path: Path | None,
         notify_secrets: NotifySecrets, integrations: Integrations) -> int:
    import asyncio
    import signal
    import sys
    import tempfile

    from bitunix.api.observer import build_http_observers
    from bitunix.app.bot import BotRun
    from bitunix.app.observers import Observer
    from bitunix.app.summary import write_summary
    from bitunix.core.errors import ConfigError
    from bitunix.features import simd_impl
    from bitunix.notify import build_notifier

    store_path = config.store.resolved_path(mode.value)
    if not store_path.parent.is_dir():
        raise ConfigError(f"store {store_path}: directory {store_path.parent} does not exist")
    print(f"bitunix-bot run: mode {mode.value} ({why}); venue {config.venue.kind}; "
          f"store {store_path}; symbols {','.join(config.symbols)}; native core: "
          f"{simd_impl()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bitunix-models-") as scratch:
        config = with_models_dir(config, args.models_dir, Path(scratch))
        observers: list[Observer] = []
        # The listener behind the allowlist (http.allow), with the control API ([api]).
        observers.extend(build_http_observers(config.http, config.api,
                                              routes=integrations.routes))
        notifier = build_notifier(config.notify, notify_secrets)
        if notifier is not None:
            observers.append(notifier)
        observers += integrations.observers
        if sys.stdout.isatty() and not args.no_live:
            from bitunix.ui import LiveView

            observers.append(LiveView())
        bot = BotRun(config, mode, store_path=store_path, secrets=secrets,
                     emit=lambda line: print(line, flush=True), observers=observers)

        async def main() -> None:
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, bot.interrupt)
            try:
                await bot.run()
            finally:
                for sig in (signal.SIGINT, signal.SIGTERM):
                    loop.remove_signal_handler(sig)

        try:
            import uvloop
        except ImportError:  # pragma: no cover - uvloop is a dependency except on Windows
            asyncio.run(main())
        else:
            uvloop.run(main())
    summary = bot.summary
    for line in summary.lines():
        print(line)
    if summary_path is not None:
        write_summary(summary, summary_path)
    return summary.exit_code()
