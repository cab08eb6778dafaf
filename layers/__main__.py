"""Command line: `check` builds every layer and lists every problem in the data; `schema` writes schema.json;
`users add|list` manages who may edit user layers; `load [--database-url URL]` puts the checked curated layers
into PostGIS (after `python -m boundaries load`; see pgdata.py)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

SCHEMA_PATH = Path(__file__).resolve().parent / "schema.json"


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["import"]:  # `python -m layers import FILE …` (see import_cli.py)
        from settings import SettingsError, load_settings

        from .import_cli import main as import_main

        try:
            import_settings = load_settings()
        except SettingsError as exc:
            print(f"cannot start: {exc}", file=sys.stderr)
            return 2
        return import_main(argv[1:], import_settings)
    if argv[:1] == ["users"]:
        return _users(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m layers", description=__doc__)
    parser.add_argument("command", choices=["check", "schema", "load"])
    parser.add_argument("-o", "--output", help="schema: where to write the JSON Schema ('-' for stdout)")
    parser.add_argument("--database-url", help="load: postgresql://… (default: the database_url setting)")
    args = parser.parse_args(argv)
    if args.command == "load":
        from settings import SettingsError, load_settings

        from .pgdata import cli_load

        try:
            loaded_settings = load_settings()
        except SettingsError as exc:
            print(f"cannot start: {exc}", file=sys.stderr)
            return 2
        return cli_load("layers", loaded_settings, args.database_url)
    if args.command == "schema":
        from .schema import json_schema_text

        if args.output == "-":
            sys.stdout.write(json_schema_text())
        else:
            out = Path(args.output) if args.output else SCHEMA_PATH
            out.write_text(json_schema_text(), encoding="utf-8")
            print(f"wrote {out}")
        return 0

    from boundaries.store import BoundaryDataError
    from settings import SettingsError, load_settings

    from .pgdb import DatabaseStartError
    from .records import DataError
    from .store import Catalog

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        cat = Catalog.from_settings(settings)
    except DatabaseStartError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    except (DataError, BoundaryDataError) as exc:
        print(exc, file=sys.stderr)
        return 1
    for layer in cat.ids():
        print(f"{layer}: {len(cat.frame(layer))} features")
    note = "; UNVERIFIED: the seed texts are missing, citations were not checked" if cat.unverified else ""
    print(f"profiles: {len(cat.profiles)}; data ok{note}")
    return 0


def _users(argv: list[str]) -> int:
    """`python -m layers users …`: who may edit user layers (see layers/users.py), in the users directory of
    the configured backend (layers/backends.py)."""
    from settings import SettingsError, load_settings

    from .backends import Backends, open_backends
    from .pgdb import DatabaseStartError
    from .users import UserDirectory, cli

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    opened: list[Backends] = []

    def directory() -> UserDirectory:
        opened.append(open_backends(settings))
        return opened[-1].users

    try:
        return cli(argv, directory)
    except DatabaseStartError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    finally:
        for backends in opened:
            backends.close()


if __name__ == "__main__":
    sys.exit(main())
