"""``bitunix-bot models``: list and manage the model registry."""

from __future__ import annotations

import argparse
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``models`` command and its actions."""
    parser = subparsers.add_parser(
        "models",
        help="list, promote, shadow, retire or roll back models in the registry",
        description="Manage the model registry (a directory; default ./models).",
    )
    parser.add_argument("--dir", "--registry", dest="dir", default="models",
                        help="registry directory (models)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    lst = actions.add_parser("list", help="print the registered models")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    lst.set_defaults(func=_list)
    show = actions.add_parser("show", help="print a model's manifest")
    _name_version(show)
    show.set_defaults(func=_show)
    reg = actions.add_parser("register", help="add a model directory (manifest + file)")
    reg.add_argument("path")
    reg.set_defaults(func=_register)
    for action, help_text in (
        ("promote", "make a model active (the current one can be rolled back to)"),
        ("shadow", "make a model the shadow challenger (scores, never trades)"),
        ("retire", "take a model out of service"),
    ):
        p = actions.add_parser(action, help=help_text)
        _name_version(p)
        p.set_defaults(func=_change, change=action)
    rb = actions.add_parser("rollback", help="re-activate the previously active model")
    rb.set_defaults(func=_rollback)
    inst = actions.add_parser(
        "install-default", help="register and promote the model shipped with the package"
    )
    inst.set_defaults(func=_install_default)


def _name_version(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name")
    parser.add_argument("version", nargs="?", help="default: the only or active version")


def _registry(args: argparse.Namespace, *, create: bool = False) -> Any:
    """The registry at ``--dir``; unless the action ``create``s one, a missing directory
    is an error that says how to get a registry (not an empty listing)."""
    from pathlib import Path

    from bitunix.core.errors import ConfigError
    from bitunix.ml.registry import ModelRegistry

    root = Path(args.dir)
    if not create and not root.is_dir():
        raise ConfigError(
            f"no model registry at {root.absolute()}: create one with `bitunix-bot models "
            f"--registry {args.dir} install-default` (the model shipped with the package), "
            "or point --registry at an existing registry"
        )
    return ModelRegistry(root)


def _list(args: argparse.Namespace) -> int:
    import msgspec

    reg = _registry(args)
    entries = reg.entries()
    if args.json:
        rows = []
        for e in entries:
            row = msgspec.to_builtins(e)
            row["path"] = str((reg.root / e.path).resolve())
            rows.append(row)
        print(msgspec.json.encode(rows).decode())
        return 0
    if not entries:
        print(f"no models registered in {reg.root} (`bitunix-bot models --registry "
              f"{args.dir} install-default` installs the model shipped with the package)")
        return 0
    print(f"{'name':<20}{'version':<16}{'status':<11}{'sha256':<14}path")
    for e in entries:
        print(f"{e.name:<20}{e.version:<16}{e.status:<11}{e.sha256[:12]:<14}{e.path}")
    return 0


def _show(args: argparse.Namespace) -> int:
    import msgspec

    from bitunix.ml.manifest import MANIFEST_NAME, load_manifest

    reg = _registry(args)
    entry = reg.get(args.name, args.version)
    manifest = load_manifest(reg.model_dir(entry) / MANIFEST_NAME)
    print(msgspec.json.format(msgspec.json.encode(manifest), indent=2).decode())
    return 0


def _register(args: argparse.Namespace) -> int:
    entry = _registry(args, create=True).register(args.path)
    print(f"registered {entry.name}@{entry.version} ({entry.status})")
    return 0


def _change(args: argparse.Namespace) -> int:
    reg = _registry(args)
    entry = getattr(reg, args.change)(args.name, args.version)
    print(f"{entry.name}@{entry.version} is now {entry.status}")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    entry = _registry(args).rollback()
    print(f"rolled back: {entry.name}@{entry.version} is active")
    return 0


def _install_default(args: argparse.Namespace) -> int:
    from bitunix.ml.bundled import install_bundled_model

    reg = _registry(args, create=True)
    entry = install_bundled_model(reg)
    print(f"{entry.name}@{entry.version} is active in {reg.root}")
    return 0
