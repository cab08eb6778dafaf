"""Command line: `python -m boundaries build [--province 浙江省|all] [--output F]`,
`python -m boundaries load [--database-url URL] [--boundaries F]` (into PostGIS, see layers/pgdata.py),
`python -m boundaries resolve NAME …` and `python -m boundaries reference --source DIR` (see reference.py)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from settings import Settings


def _build(args: argparse.Namespace, settings: Settings) -> int:
    from .build import build

    try:
        report = build(args.province, args.output, data_dir=settings.data_dir, cache=settings.cache)
    except (ValueError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    counts = ", ".join(f"{n} {layer}" for layer, n in report.counts.items())
    print(f"wrote {report.path}: {counts}")
    for line in report.repairs:
        print(f"repaired: {line}")
    if not report.repairs:
        print("repaired: nothing (every geometry was valid)")
    return 0


def _resolve(args: argparse.Namespace, settings: Settings) -> int:
    from geo.errors import ApiError

    from .gazetteer import Gazetteer

    gaz = Gazetteer.load(args.gpkg or settings.boundaries)
    failed = []
    for name in args.names:
        try:
            hit = gaz.resolve(name, province=args.province, city=args.city)
        except ApiError as exc:
            print(f"{name}\terror: {exc.message}", file=sys.stderr)
            failed.append(name)
            continue
        note = f"\t({hit.note})" if hit.note else ""
        print(f"{name}\t{hit.adcode}\t{hit.name}\t{hit.city or ''}{note}")
    if failed:
        print(f"could not resolve: {'、'.join(failed)}", file=sys.stderr)
        return 1
    return 0


def _reference(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    from .reference import REFERENCE, build
    from .store import load

    source = Path(args.source)
    if not (source / "ne_10m_ocean.shp").exists():
        print(f"error: {source} has no ne_10m_ocean.shp (Natural Earth 1:10m physical)", file=sys.stderr)
        return 2
    output = Path(args.output) if args.output else REFERENCE
    counts = build(source, load(settings.boundaries).province, output)
    print(f"wrote {output} ({output.stat().st_size // 1024} KB): " + ", ".join(f"{n} {k}" for k, n in counts.items()))
    return 0


def _load(args: argparse.Namespace, settings: Settings) -> int:
    from pathlib import Path

    # The database side (pool, migrations, tables) is the catalog's; this entry point only hands the file over.
    from layers.pgdata import cli_load

    return cli_load("boundaries", settings, args.database_url, Path(args.boundaries) if args.boundaries else None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m boundaries", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build", help="build a boundary GeoPackage from the cnmaps wheel")
    b.add_argument("--province", default="浙江省", help="province name (浙江省) or 'all' for all of China")
    b.add_argument("--output", help="output GeoPackage (default: the embedded one for 浙江省, else the data directory)")
    b.set_defaults(func=_build)
    ld = sub.add_parser("load", help="load a boundary GeoPackage into PostGIS (one transaction, idempotent)")
    ld.add_argument("--database-url", help="postgresql://… (default: the database_url setting)")
    ld.add_argument("--boundaries", help="the GeoPackage to load (default: the configured one)")
    ld.set_defaults(func=_load)
    r = sub.add_parser("resolve", help="resolve region names to adcodes")
    r.add_argument("names", nargs="+")
    r.add_argument("--province", help="settle ambiguous names within this province")
    r.add_argument("--city", help="settle ambiguous names within this city")
    r.add_argument("--gpkg", help="boundary GeoPackage to resolve against (default: the configured one)")
    r.set_defaults(func=_resolve)
    f = sub.add_parser("reference", help="build the reference layer (sea, lakes) from Natural Earth 1:10m shapefiles")
    f.add_argument("--source", required=True, help="folder with ne_10m_ocean.shp and ne_10m_lakes.shp")
    f.add_argument("--output", help="output GeoJSON (default: boundaries/data/reference.geojson)")
    f.set_defaults(func=_reference)
    args = parser.parse_args(argv)
    from settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    return args.func(args, settings)


if __name__ == "__main__":
    sys.exit(main())
