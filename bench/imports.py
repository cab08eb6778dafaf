"""Benchmark of importing lists (`make bench`, or `python bench/imports.py`): reconciling every county-level name
of China written in mixed forms (budget 2 s) and a 100,000-row point CSV in GCJ-02 (budget 10 s), each from the
file's bytes to the report and the features. Figures are printed and written to bench/results/imports.json."""

from __future__ import annotations

import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from boundaries.gazetteer import Gazetteer, short_name  # noqa: E402
from boundaries.store import Boundaries, load  # noqa: E402
from geo import datum  # noqa: E402
from geo.tables import read_table  # noqa: E402
from layers.importing import ImportOptions, reconcile  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUDGET_NAMES_S = 2.0
BUDGET_POINTS_S = 10.0
POINTS = 100_000


def china_gpkg() -> Path:
    """The all-China build: the data directory's, else the test cache's, else built now (a few minutes)."""
    from boundaries.build import build, default_output
    from settings import load_settings

    target = default_output("all", load_settings().data_dir)
    if target.exists():
        return target
    cached = sorted((ROOT / ".cache" / "tests").glob("china-*.gpkg"))
    if cached:
        return cached[-1]
    return build("all", target).path


def mixed_names(boundaries: Boundaries) -> bytes:
    """Every county as people write it: full, city-prefixed, short, adcode, padded with full-width spaces."""
    rows = ["序号,区县,数量"]
    for i, r in enumerate(boundaries.counties.itertuples()):
        form = i % 5
        name = (
            r.name
            if form == 0
            else f"{r.city if r.city and r.city != r.name else r.province}{r.name}"
            if form == 1
            else short_name(r.name) or r.name
            if form == 2
            else r.adcode
            if form == 3
            else f"\u3000{r.name} "
        )
        rows.append(f"{i + 1},{name},{i * 7 % 101}")
    return ("\n".join(rows) + "\n").encode("utf-8")


def points_csv(boundaries: Boundaries, n: int = POINTS) -> bytes:
    """`n` random points over the province's extent in GCJ-02, with a name and a number column."""
    rng = np.random.default_rng(12)
    x0, y0, x1, y1 = boundaries.province.total_bounds
    lon, lat = datum.wgs84_to_gcj02(rng.uniform(x0, x1, n), rng.uniform(y0, y1, n))
    frame = pd.DataFrame({"名称": [f"站点{i}" for i in range(n)], "经度": lon, "纬度": lat, "数量": np.arange(n)})
    return frame.to_csv(index=False, float_format="%.7f").encode("utf-8")


def timed(fn, repeat: int = 3) -> tuple[float, float, object]:
    """Median wall-clock and CPU seconds of `fn` (CPU time shows the cost when the machine is shared)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        t, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus), result


def main() -> int:
    china = load(china_gpkg())
    gazetteer = Gazetteer.of(china)
    names = mixed_names(china)

    def import_names():
        result = reconcile(read_table(names, "names.csv"), gazetteer, china, ImportOptions())
        report = result.report()
        result.features(skip_unresolved=True)
        return report

    names_s, names_cpu, names_report = timed(import_names)
    from boundaries import EMBEDDED_GPKG

    zhejiang = load(EMBEDDED_GPKG)
    zj_gazetteer = Gazetteer.of(zhejiang)
    points = points_csv(zhejiang)

    def import_points():
        result = reconcile(read_table(points, "points.csv"), zj_gazetteer, zhejiang, ImportOptions(datum="gcj02"))
        report = result.report()
        result.features(skip_unresolved=True)
        return report

    points_s, points_cpu, points_report = timed(import_points)
    figures = {
        "china_names": {
            "rows": names_report["rows"],  # type: ignore[index]
            "counts": names_report["counts"],  # type: ignore[index]
            "seconds": round(names_s, 3),
            "cpu_seconds": round(names_cpu, 3),
            "budget_s": BUDGET_NAMES_S,
            "within_budget": names_s < BUDGET_NAMES_S,
        },
        "points_gcj02": {
            "rows": points_report["rows"],  # type: ignore[index]
            "counts": points_report["counts"],  # type: ignore[index]
            "bytes": len(points),
            "seconds": round(points_s, 3),
            "cpu_seconds": round(points_cpu, 3),
            "budget_s": BUDGET_POINTS_S,
            "within_budget": points_s < BUDGET_POINTS_S,
        },
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "imports.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
