"""``bitunix-bot api token``: make a control API token and the line for the configuration."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``api`` command and its ``token`` action."""
    parser = subparsers.add_parser(
        "api", help="control API helpers (make a token)",
        description="Helpers for the control REST API (docs/api.md).")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    token = actions.add_parser(
        "token", help="make a token: print it once, and its hash line for [api] tokens",
        description=(
            "Make a random bearer token for the control API. The token is printed once, "
            "on the first line (store it in your client's secret store: it cannot be "
            "shown again); the lines after it go into the configuration, which keeps only "
            "the token's SHA-256. Scopes: read (status, balance, positions, orders), "
            "trade (also orders, cancel, flatten, pause, resume, kill), admin (also kill "
            "release, forced orders, model promote/rollback, config read)."))
    token.add_argument("--name", required=True,
                       help="who uses it (1-40 letters, digits, '_', '.', '-'); in the audit "
                            "trail as api:NAME")
    token.add_argument("--scopes", default="read",
                       help="comma-separated: read, trade, admin (default read)")
    token.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print a new token and its configuration lines."""
    import msgspec

    from bitunix.api.tokens import hash_token, new_token
    from bitunix.config.api import ApiSection, ApiToken
    from bitunix.core.errors import ConfigError

    scopes = [s.strip() for s in str(args.scopes).split(",") if s.strip()]
    token = new_token()
    entry = ApiToken(name=args.name, sha256=hash_token(token), scopes=scopes)
    try:
        ApiSection(enabled=True, tokens=[entry])
    except ConfigError as exc:
        # The section's checks name config keys; here the values came from flags.
        why = str(exc).split(": ", 1)[-1]
        flag = "--scopes" if ".scopes" in str(exc) else "--name"
        raise ConfigError(f"{flag}: {why}") from None
    print(token)
    print("# the configuration's line (add it under [api], with enabled = true):")
    scopes_toml = msgspec.json.encode(scopes).decode().replace(",", ", ")
    print(f'[[api.tokens]]\nname = "{entry.name}"\nsha256 = "{entry.sha256}"\n'
          f"scopes = {scopes_toml}")
    return 0
