"""Printed maps and the offline HTML map in English (`lang=en`): legend, class titles, scale and footer in English,
no Chinese legend titles (names of the data stay as they are where no English one exists); `lang=zh` (default)
as before; a bad `lang` is a 400."""

from __future__ import annotations

import re
import zlib

import pytest

from layers.printing import print_sources
from layers.styles import CLASS_TITLES, CLASS_TITLES_EN

HAN = re.compile(r"[\u3400-\u9fff]")
# The map's own Chinese words: legend heading, scale, footer labels (the legend's class titles are added below).
MAP_WORDS_ZH = "图例比例尺数据来源日期坐标系"


def pdf_chars(body: bytes) -> set[str]:
    """Every character a PDF's fonts draw, read from their ToUnicode maps (matplotlib writes one per font)."""
    chars: set[str] = set()
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", body, re.S):
        try:
            stream = zlib.decompress(stream)
        except zlib.error:
            pass
        if b"begincmap" not in stream:
            continue
        for line in stream.splitlines():
            codes = re.findall(rb"<([0-9a-fA-F]+)>", line)
            if b"[" in line:
                targets = codes[2:]  # <lo> <hi> [<u1> <u2> …]
            elif len(codes) == 3:
                targets = codes[2:]  # <lo> <hi> <u>
            elif len(codes) == 2:
                targets = codes[1:]  # <code> <u>
            else:
                continue
            for h in targets:
                chars.update(bytes.fromhex(h.decode()).decode("utf-16-be", "replace"))
    return chars


def legend_html(body: str) -> str:
    """The text of an HTML map's legend."""
    start = body.index('<div id="kc-legend"')
    block = body[start : body.index('<div id="export-meta"', start)]
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", block)).strip()


def footer_html(body: str) -> str:
    start = body.index('<div id="export-meta"')
    return re.sub(r"<[^>]+>", " ", body[start : body.index("</div>", start)])


VIEW = "/export/high-tech-zones.{ext}?layers=science-city-zones&over=cities,counties"


def test_html_map_in_english_has_english_legend_and_footer(http, catalog):
    status, _h, raw = http.get(VIEW.format(ext="html") + "&lang=en")
    assert status == 200
    body = raw.decode("utf-8")
    legend = legend_html(body)
    assert legend.startswith("Legend")
    for layer in ("high-tech-zones", "science-city-zones"):
        assert catalog.spec(layer).title_en in legend
    kinds = set(catalog.frame("high-tech-zones")["kind"]) | set(catalog.frame("science-city-zones")["role"])
    for value in kinds:
        assert CLASS_TITLES_EN[value] in legend, value
        assert CLASS_TITLES[value] not in legend, value
    assert not HAN.search(legend), legend  # every built-in layer and class has an English title
    footer = footer_html(body)
    assert "Sources:" in footer and "Data date:" in footer and "Datum:" in footer
    assert "数据来源" not in footer and "坐标系" not in footer


def test_html_map_in_chinese_stays_chinese(http, catalog):
    status, _h, raw = http.get(VIEW.format(ext="html"))
    assert status == 200
    legend = legend_html(raw.decode("utf-8"))
    assert legend.startswith("图例")
    assert catalog.spec("high-tech-zones").title in legend
    assert CLASS_TITLES["national-high-tech-zone"] in legend and "National" not in legend


def test_pdf_map_in_english_draws_no_chinese_legend_words(http, catalog):
    status, headers, en = http.get(VIEW.format(ext="pdf") + "&lang=en&dpi=72")
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    status, _h, zh = http.get(VIEW.format(ext="pdf") + "&dpi=72")
    assert status == 200
    en_chars, zh_chars = pdf_chars(en), pdf_chars(zh)
    kinds = set(catalog.frame("high-tech-zones")["kind"]) | set(catalog.frame("science-city-zones")["role"])
    words = MAP_WORDS_ZH + "".join(CLASS_TITLES[k] for k in kinds)
    assert set(words) <= zh_chars  # the Chinese map draws them (the reading of the PDF works)
    # the English map draws none of them, but for characters of the data as written: document numbers in the
    # footer, names of features that have no English name
    frames = [catalog.frame("high-tech-zones"), catalog.frame("science-city-zones")]
    data = print_sources(frames, boundary_source="", lang="en")
    data += "".join(row["name"] for frame in frames for _, row in frame.iterrows() if not row.get("name_en"))
    leaked = {c for c in words if c in en_chars}
    assert leaked <= set(data), leaked - set(data)
    for word in ("Legend", "Scale", "Sources", "Datum"):
        assert set(word) <= en_chars
    assert catalog.spec("high-tech-zones").title_en.encode() in en  # the default title, in the file's metadata


@pytest.mark.parametrize("ext", ["png", "pdf", "html"])
def test_bad_lang_is_a_400(http, ext):
    status, message = http.error(f"/export/high-tech-zones.{ext}?lang=fr")
    assert status == 400 and "lang" in message and "en" in message
