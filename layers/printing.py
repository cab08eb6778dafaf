"""What a printed map's footer cites: the documents behind the features drawn, by title, and the boundary data."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from geopandas import GeoDataFrame

REF_COLUMNS = ("source_ref", "summary_source_ref", "layout_source_ref")
MAX_DOCUMENTS = 6


def _refs(value: Any) -> Iterable[Mapping[str, Any]]:
    """Every `source_ref`-shaped mapping (has `title`) inside a cell: a ref, a designation, a list of facts."""
    if isinstance(value, Mapping):
        if value.get("title"):
            yield value
        for key in ("source_ref", "source_refs", "alternatives"):
            if key in value:
                yield from _refs(value[key])
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _refs(item)


def document_title(ref: Mapping[str, Any], lang: str = "zh") -> str:
    """《title》 with its document number when there is one; in English “English title” (number) where the
    document has an English title."""
    number = ref.get("doc_number")
    if lang == "en" and ref.get("title_en"):
        return f"“{ref['title_en']}”" + (f" ({number})" if number else "")
    return f"《{ref['title']}》" + (f"（{number}）" if number else "")


def boundary_citation(source: str, lang: str = "zh") -> str:
    """The boundary data named for a reader: "高德地图行政区划（cnmaps 1.1.9 数据包）" rather than a package pin."""
    match = re.search(r"cnmaps\s*==\s*([\w.]+)", source or "")
    version = f" {match.group(1)}" if match else ""
    if lang == "en":
        return f"AMap administrative boundaries (cnmaps{version} data package, GCJ-02 converted to WGS-84)"
    return f"高德地图行政区划（cnmaps{version} 数据包，GCJ-02 转 WGS-84）"


def print_sources(frames: Iterable[GeoDataFrame], *, boundary_source: str | None = None, lang: str = "zh") -> str:
    """The footer's source line: the documents the drawn features cite (most cited first, at most
    MAX_DOCUMENTS named), then the boundary data when `boundary_source` is given; in `lang` (zh|en)."""
    counts: Counter[str] = Counter()
    for frame in frames:
        for column in (*REF_COLUMNS, "designation", "facts"):
            if column in frame.columns:
                for cell in frame[column]:
                    counts.update(document_title(ref, lang) for ref in _refs(cell))
    titles = [title for title, _ in counts.most_common()]
    parts = titles[:MAX_DOCUMENTS]
    if len(titles) > MAX_DOCUMENTS:
        parts.append(f"{len(titles)} documents in all" if lang == "en" else f"等 {len(titles)} 份文件")
    if boundary_source is not None:
        parts.append(boundary_citation(boundary_source, lang))
    return ("; " if lang == "en" else "；").join(parts)
