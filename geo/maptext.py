"""The words a drawn map writes itself (legend heading, scale, footer, popup headings), in each language a map
can be drawn in, and the check of a `lang` parameter. Data text (names, titles) comes with the data."""

from __future__ import annotations

from typing import Any

from .errors import BadRequest

LANGS = ("zh", "en")  # the first is the default
TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "legend": "图例 Legend",
        "legend_html": "图例",
        "scale": "比例尺 Scale (at {lat:.1f}°N)",
        "north": "N",
        "sources": "数据来源 Sources: {value}",
        "data_date": "数据日期 Data date: {value}",
        "datum": "坐标系 Datum: {datum}；经纬度等比例（{lat:.1f}°N）",
        "count": "{label}（{n}）",
        "year": "{value}（{year}）",
        "source": "来源",
        "source_line": "来源：{value}",
        "meta_sources": "数据来源",
        "meta_date": "数据日期",
        "meta_datum": "坐标系",
        "meta_join": "；",
        "meta_colon": "：",
        "kind": "类型",
        "role": "分区",
        "designation": "认定",
        "programme": "名单",
        "year_field": "年份",
        "city": "所在市",
        "county": "所在县（市、区）",
        "summary": "简介",
        "location_note": "位置说明",
        "other_language": "English",
    },
    "en": {
        "legend": "Legend",
        "legend_html": "Legend",
        "scale": "Scale (at {lat:.1f}°N)",
        "north": "N",
        "sources": "Sources: {value}",
        "data_date": "Data date: {value}",
        "datum": "Datum: {datum}; degrees drawn to scale at {lat:.1f}°N",
        "count": "{label} ({n})",
        "year": "{value} ({year})",
        "source": "Source",
        "source_line": "Source: {value}",
        "meta_sources": "Sources",
        "meta_date": "Data date",
        "meta_datum": "Datum",
        "meta_join": "; ",
        "meta_colon": ": ",
        "kind": "Kind",
        "role": "Part",
        "designation": "Designation",
        "programme": "List",
        "year_field": "Year",
        "city": "City",
        "county": "County",
        "summary": "Summary",
        "location_note": "Location",
        "other_language": "中文",
    },
}


def map_lang(value: Any) -> str:
    """The language of a drawn map: `zh` (default) or `en`; anything else is a 400 that says what is accepted."""
    if value is None or value == "":
        return LANGS[0]
    lang = str(value).strip().lower()
    if lang not in LANGS:
        raise BadRequest(f"lang must be one of {', '.join(LANGS)}, got {value!r}")
    return lang


def text(lang: str, key: str, **values: Any) -> str:
    """The map's own words for `key` in `lang`, with `{name}` placeholders filled from `values`."""
    return TEXT.get(lang, TEXT[LANGS[0]])[key].format(**values)


def localised(record: Any, field: str, lang: str) -> Any:
    """`record[field]` in `lang`: in English `field_en` when it is there and not empty, else the field itself."""
    if lang != "zh" and hasattr(record, "get"):
        other = record.get(f"{field}_{lang}")
        if isinstance(other, str) and other.strip():
            return other
    return record.get(field) if hasattr(record, "get") else None
