"""Command line `python -m layers import FILE …`: reconcile a list and, unless --dry-run, save it as a user layer.

Exit codes: 0 every row resolved (or the layer saved), 1 rows left ambiguous or unmatched, 2 the file could not
be read (one line on stderr).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from settings import Settings


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m layers import", description=__doc__.splitlines()[0])
    p.add_argument("file", help="CSV, .xlsx, .txt (one name a line), GeoJSON, GeoPackage, zipped Shapefile or KML")
    p.add_argument("--title", help="title of the new layer (default: the file name)")
    p.add_argument("--name-column", help="column holding region names or adcodes (default: guessed)")
    p.add_argument("--province", help="province the names lie in (settles names shared across provinces)")
    p.add_argument("--city", help="city the names lie in (settles names shared across cities)")
    p.add_argument("--lon", help="longitude column (points)")
    p.add_argument("--lat", help="latitude column (points)")
    p.add_argument("--datum", default="wgs84", choices=["wgs84", "gcj02", "bd09"], help="datum of the coordinates")
    p.add_argument("--sheet", help="Excel sheet (or GeoPackage/KML layer) to read")
    p.add_argument("--dry-run", action="store_true", help="reconcile and report only; save nothing")
    p.add_argument("--json", action="store_true", help="print the reconciliation report as JSON on stdout")
    p.add_argument("--skip-unresolved", action="store_true", help="save the resolved rows, leaving out the others")
    return p


def _summary(report: dict) -> str:
    counts = report["counts"]
    lines = [f"{report['rows']} rows: " + ", ".join(f"{counts[k]} {k}" for k in counts)]
    for item in report["items"]:
        if item["status"] == "matched":
            continue
        extra = ""
        if item["candidates"]:
            extra = " candidates: " + "、".join(f"{c['province']}{c['city'] or ''}{c['name']} {c['adcode']}"
                                                 for c in item["candidates"])  # fmt: skip
        elif item["suggestions"]:
            extra = " did you mean: " + "、".join(f"{s['name']} {s['adcode']}" for s in item["suggestions"])
        target = f" → {item['name']} {item['adcode']}" if item["adcode"] else ""
        note = f" ({item['note']})" if item["note"] else ""
        lines.append(f"row {item['row']}: {item['input']!r} {item['status']}{target}{note}{extra}")
    return "\n".join(lines)


def main(argv: list[str], settings: Settings) -> int:
    """Run the import command with the settings `python -m layers` loaded; the exit code."""
    args = parser().parse_args(argv)
    from boundaries.gazetteer import Gazetteer
    from boundaries.store import BoundaryDataError, load
    from geo.errors import ApiError

    from .importing import ImportOptions, read_upload, reconcile

    path = Path(args.file)
    try:
        options = ImportOptions(
            name_column=args.name_column, province=args.province, city=args.city, lon=args.lon, lat=args.lat,
            datum=args.datum, sheet=args.sheet, title=args.title,
        )  # fmt: skip
        if not path.is_file():
            print(f"cannot read {args.file}: no such file", file=sys.stderr)
            return 2
        table = read_upload(path, path.name, options, settings)
        boundaries = load(settings.boundaries)
        result = reconcile(table, Gazetteer.of(boundaries), boundaries, options)
    except ApiError as exc:
        print(f"cannot import {path.name}: {exc.message}", file=sys.stderr)
        return 2
    except BoundaryDataError as exc:
        print(str(exc).splitlines()[0], file=sys.stderr)
        return 2
    report = result.report()
    if args.json:
        print(json.dumps(report, ensure_ascii=False, default=str))
    else:
        print(_summary(report), file=sys.stderr)
    unresolved = bool(result.unresolved)
    if args.dry_run:
        return 1 if unresolved else 0
    if unresolved and not args.skip_unresolved:
        print(f"nothing saved: {len(result.unresolved)} rows unresolved (settle them or use --skip-unresolved)",
              file=sys.stderr)  # fmt: skip
        return 1
    from .backends import open_backends
    from .editing import LayerEditor
    from .pgdb import DatabaseStartError

    try:
        backends = open_backends(settings)
    except DatabaseStartError as exc:
        print(f"nothing saved: {exc}", file=sys.stderr)
        return 2
    try:
        frame = result.features(skip_unresolved=args.skip_unresolved)
        editor = LayerEditor(backends.store, backends.users)
        layer_id = editor.save(args.title or path.stem, frame, actor="cli", source=f"import of {path.name}").id
    except ApiError as exc:
        print(f"nothing saved: {exc.message}", file=sys.stderr)
        return 2
    finally:
        backends.close()
    print(layer_id)
    return 0
