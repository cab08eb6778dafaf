"""Command line: `python -m layers check` builds every layer and lists every problem in the shipped data."""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["import"]:  # `python -m layers import FILE …` (see import_cli.py)
        from settings import SettingsError, load_settings

        from .import_cli import main as import_main

        try:
            import_settings = load_settings()
        except SettingsError as exc:
            print(f"cannot start: {exc}", file=sys.stderr)
            return 2
        return import_main(args[1:], import_settings)
    parser = argparse.ArgumentParser(prog="python -m layers", description=__doc__)
    parser.add_argument("command", choices=["check"])
    parser.parse_args(args)
    from boundaries.store import BoundaryDataError
    from settings import SettingsError, load_settings

    from .records import DataError
    from .store import Catalog

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    try:
        cat = Catalog.from_settings(settings)
    except (DataError, BoundaryDataError) as exc:
        print(exc, file=sys.stderr)
        return 1
    for layer in cat.ids():
        print(f"{layer}: {len(cat.frame(layer))} features")
    print(f"profiles: {len(cat.profiles)}; data ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
