"""The ``bitunix-bot`` command.

Each subcommand lives in its own module in this package and exposes
``register(subparsers) -> None``, which adds its parser and sets ``func`` (a callable
taking the parsed ``argparse.Namespace`` and returning an exit code). Modules are found by
name, so adding a command is adding a module; a module name starting with ``_`` is private.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import logging
import os
import pkgutil
import select
import sys
from collections.abc import Sequence

from bitunix import __version__
from bitunix.core.errors import BitunixError
from bitunix.logs import install_logging


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="bitunix-bot",
        description="Latency-optimised trading bot for Bitunix USDT-M perpetual futures.",
    )
    parser.add_argument("--version", action="version", version=f"bitunix-bot {__version__}")
    parser.add_argument("--log-level", default=None,
                        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
                        help="logging threshold (default: the config's log.level, else "
                             "WARNING); see docs/logging.md")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the process exit code.

    Whatever goes wrong ends in one line on stderr and a non-zero code, never a traceback:
    a :class:`BitunixError` (bad input, said by the code that found it) exits 1; any other
    exception is an internal error, exit 1, its traceback logged at DEBUG; Ctrl-C exits 130;
    a closed stdout (``bitunix-bot replay | head``) exits 141 quietly, as a Unix tool
    killed by SIGPIPE does. argparse's own errors stay as they are (usage + one line, 2).
    """
    command = "bitunix-bot"
    secrets: list[str] = []
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        secrets = _secrets(args)
        # Until a command has read its configuration (``run`` installs [log] then):
        # key=value lines on stderr, the flags' secrets masked.
        install_logging(args.log_level or "WARNING", secrets=secrets)
        func = getattr(args, "func", None)
        if func is None:
            parser.print_help()
            return 2
        command = f"bitunix-bot {args.command}"
        code: int = func(args)
        sys.stdout.flush()  # a closed pipe shows here, not at exit where nothing can catch it
        return code
    except BitunixError as exc:
        _say(f"{command}: error: {_one_line(exc, secrets)}")
        return 1
    except KeyboardInterrupt:
        _say(f"{command}: interrupted")
        return 130
    except BrokenPipeError as exc:
        if _stdout_closed():
            _silence_stdout()
            return 141
        _internal_error(command, exc, secrets)  # a socket's, not ours to hide
        return 1
    except Exception as exc:
        _internal_error(command, exc, secrets)
        return 1


def _internal_error(command: str, exc: Exception, secrets: list[str]) -> None:
    logging.getLogger(__name__).debug("%s: internal error", command, exc_info=exc)
    _say(f"{command}: internal error: {type(exc).__name__}: {_one_line(exc, secrets)} "
         "(run with --log-level DEBUG for the traceback)")


def _secrets(args: argparse.Namespace) -> list[str]:
    """Values of options named like a secret: never echoed back in an error."""
    return [value for name, value in vars(args).items()
            if "secret" in name and isinstance(value, str) and len(value) >= 4]


def _one_line(exc: BaseException, secrets: list[str]) -> str:
    text = " ".join(str(exc).split()) or "(no message)"
    for secret in secrets:
        text = text.replace(secret, "***")
    return text


def _say(line: str) -> None:
    with contextlib.suppress(OSError, ValueError):  # stderr gone too: the exit code tells
        print(line, file=sys.stderr, flush=True)


def _stdout_closed() -> bool:
    """True if stdout is a pipe whose reader has gone (poll reports an error on it)."""
    try:
        poller = select.poll()
        poller.register(sys.stdout.fileno(), select.POLLOUT)
        return any(mask & (select.POLLERR | select.POLLHUP) for _, mask in poller.poll(0))
    except (OSError, ValueError, AttributeError):  # not a file, or no poll() here
        return False


def _silence_stdout() -> None:
    """Point stdout at /dev/null so the interpreter's final flush cannot fail again
    (the recipe of the Python docs, "Note on SIGPIPE")."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
