"""Benchmark of questions across layers (`make bench`, or `python bench/query.py`): each question answered from
scratch (no response cache) at county and city level, and the largest question accepted (20 conditions), each
against a budget of 0.5 s; then the same over HTTP through the response cache. Figures are printed and written
to bench/results/query.json."""

from __future__ import annotations

import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from layers.query import MAX_CONDITIONS, answer, parse  # noqa: E402
from settings import load_settings  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BUDGET_S = 0.5
REPEAT = 5
QUESTIONS = {
    "pilots_with_a_zone": "in=pilot-counties&contains=high-tech-zones",
    "not_pilots_with_platforms_city": "level=city&not_in=pilot-counties&contains=platforms",
    "corridors_and_zones": "contains=corridors&contains=science-city-zones:2&not_contains=innovation-bases",
    "largest": "&".join(
        ["in=counties", "in=pilot-counties", "where=year>=2000"]
        + [f"contains=platforms:{i % 3}" for i in range(MAX_CONDITIONS - 3)]
    ),
}


def main() -> int:
    from urllib.parse import parse_qs

    from server import create_app

    app = create_app(load_settings(data_dir=Path(tempfile.mkdtemp())))
    catalog = app.extensions["catalog"]
    client = app.test_client()
    figures: dict[str, dict[str, object]] = {}
    for name, query in QUESTIONS.items():
        question = parse(catalog, parse_qs(query))
        times = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            result = answer(catalog, question)
            times.append(time.perf_counter() - start)
        client.get("/api/query?" + query)  # fills the response cache
        cached = []
        for _ in range(REPEAT):
            start = time.perf_counter()
            assert client.get("/api/query?" + query).status_code == 200
            cached.append(time.perf_counter() - start)
        median = statistics.median(times)
        figures[name] = {
            "count": result["count"],
            "answer_median_s": round(median, 4),
            "http_cached_median_s": round(statistics.median(cached), 4),
            "budget_s": BUDGET_S,
            "within_budget": median < BUDGET_S,
        }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "query.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(figures, ensure_ascii=False, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
