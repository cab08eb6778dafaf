"""Comparing regions over HTTP: /api/compare lines figures up by indicator with their sources as document titles,
refuses bad lists with a JSON error saying what is accepted, and /export/compare.pdf prints the comparison on
one A4 page whose text (read back from the PDF's own font maps) names both regions; /embed may be framed."""

from __future__ import annotations

import re
import shutil
import subprocess
import zlib

import pytest

RUIAN = "330381"
YIWU = "330782"


def _adcode(catalog, name: str) -> str:
    regions = catalog.boundaries.regions
    return str(regions.loc[regions["name"] == name, "adcode"].iloc[0])


def test_adcodes_come_from_the_boundaries(catalog):
    assert _adcode(catalog, "瑞安市") == RUIAN
    assert _adcode(catalog, "义乌市") == YIWU


@pytest.fixture(scope="module")
def comparison(http):
    status, body = http.json(f"/api/compare?ids={RUIAN},{YIWU}")
    assert status == 200, body
    return body


def test_regions_with_names_city_level_and_designations(comparison):
    ruian, yiwu = comparison["regions"]
    assert (ruian["adcode"], ruian["name"], ruian["name_en"], ruian["city"], ruian["level"]) == (
        RUIAN,
        "瑞安市",
        "Rui'an City",
        "温州市",
        "county",
    )
    assert (yiwu["name"], yiwu["name_en"], yiwu["city_en"]) == ("义乌市", "Yiwu City", "Jinhua")
    for region in (ruian, yiwu):  # both are 2021 pilot counties, cited by document title and line
        (designation,) = region["designations"]
        assert designation["year"] == 2021
        assert designation["source"]["title"] and designation["source"]["lines"]
        assert designation["source_text"].startswith("《") and ".txt" not in designation["source_text"]


def test_figures_are_aligned_by_indicator(comparison, catalog):
    """One row per indicator label; each row has one cell per region (None where that region has no such figure),
    and the cells are the profile's own facts (value, unit, year) — not derived again."""
    rows = comparison["figures"]
    labels = [r["label"] for r in rows]
    assert len(labels) == len(set(labels))
    assert all(len(r["cells"]) == 2 for r in rows)
    for i, code in enumerate((RUIAN, YIWU)):
        profile = catalog.profiles.get(code)
        for fact in profile["figures"]:
            (row,) = [r for r in rows if r["label"] == fact["label"]]
            cell = row["cells"][i]
            assert (cell["value"], cell["unit"], cell["unit_en"], cell["year"]) == (
                fact["value"],
                fact["unit"],
                fact["unit_en"],
                fact["year"],
            )
            assert cell["status"] == (fact["status"] or "reported")
            assert cell["source"]["title"] == fact["source_ref"]["title"]
            assert cell["source"]["lines"] == fact["source_ref"]["lines"]
    gdp = next(r for r in rows if r["label"] == "地区生产总值")
    assert gdp["label_en"] == "GDP"
    assert gdp["cells"][0] is None  # 瑞安's sources give no GDP
    assert (gdp["cells"][1]["value"], gdp["cells"][1]["unit"], gdp["cells"][1]["year"]) == (1485.6, "亿元", 2020)
    assert gdp["cells"][1]["source_text"] == "《2021“科创中国”浙江创新基地与试点县（市、区）专版》 第99–100行"
    assert gdp["cells"][1]["source_text_en"].endswith(", lines 99–100")


def test_shared_indicators_come_first(http):
    """Cities share the 2016 plan's targets: those rows come first, with a value in every column."""
    status, body = http.json("/api/compare?ids=330100,330200,330300")
    assert status == 200
    first = body["figures"][0]
    assert first["regions_with_value"] == 3 and all(c is not None for c in first["cells"])
    assert body["summary"]["shared_figures"] >= 5
    counts = [r["regions_with_value"] for r in body["figures"]]
    assert counts == sorted(counts, reverse=True)


def test_sites_inside_per_layer(comparison, catalog):
    rows = {r["layer"]: r for r in comparison["sites"]}
    for i, code in enumerate((RUIAN, YIWU)):
        sites = catalog.profiles.get(code)["sites"]
        for layer, row in rows.items():
            if row["user"]:
                continue
            names = [s["name"] for s in sites.get(layer, [])]
            assert row["cells"][i]["count"] == len(names)
            assert [s["name"] for s in row["cells"][i]["sites"]] == names
    assert rows["high-tech-zones"]["cells"][0]["count"] >= 1  # 瑞安 holds a high-tech zone
    assert rows["high-tech-zones"]["cells"][1]["count"] == 0
    assert rows["platforms"]["title_en"]
    summary = comparison["summary"]["regions"]
    assert [s["adcode"] for s in summary] == [RUIAN, YIWU]
    assert summary[1]["figures"] == len(catalog.profiles.get(YIWU)["figures"])


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("", 400, "2 to 4"),
        (f"?ids={RUIAN}", 400, "got 1"),
        (f"?ids={RUIAN},{RUIAN}", 400, "more than once"),
        (f"?ids={RUIAN},{YIWU},330100,330200,330300", 400, "got 5"),
        (f"?ids={RUIAN},ruian", 400, "not an adcode"),
        (f"?ids={RUIAN},330000", 400, "counties and cities"),
        (f"?ids={RUIAN},339999", 404, "339999"),
    ],
)
def test_bad_lists_are_refused(http, query, status, says):
    got, message = http.error(f"/api/compare{query}")
    assert got == status
    assert says in message


def test_answers_are_cached_with_etags(http):
    status, headers, _ = http.get(f"/api/compare?ids={RUIAN},{YIWU}")
    assert status == 200 and headers.get("ETag")
    assert http.get(f"/api/compare?ids={RUIAN},{YIWU}", {"If-None-Match": headers["ETag"]})[0] == 304


# ------------------------------------------------------------------ the PDF page
def _pdf_text(pdf: bytes) -> str:
    """The text drawn on a matplotlib PDF: each font's ToUnicode map applied to the strings shown with it."""
    objects: dict[int, bytes] = {}
    pos = 0
    while m := re.compile(rb"(?m)^(\d+) 0 obj").search(pdf, pos):  # streams are cut by their /Length
        start = m.end()
        head_end = pdf.find(b"stream", start)
        end = pdf.find(b"endobj", start)
        length = re.search(rb"/Length (\d+)( 0 R)?", pdf[start : head_end if head_end >= 0 else end])
        if head_end >= 0 and head_end < end and length:
            size = int(length.group(1))
            if length.group(2):  # an indirect length, written after the stream
                ref = re.search(rb"(?m)^" + length.group(1) + rb" 0 obj\s*(\d+)", pdf)
                size = int(ref.group(1)) if ref else 0
            data_start = pdf.index(b"\n", head_end) + 1
            end = pdf.find(b"endobj", data_start + size)
        objects[int(m.group(1))] = pdf[start:end]
        pos = end

    def stream(body: bytes) -> bytes:
        m = re.search(rb"stream\r?\n", body)
        raw = body[m.end() : body.rfind(b"endstream")] if m else b""
        return zlib.decompressobj().decompress(raw) if b"/FlateDecode" in body[: m.start() if m else 0] else raw

    def cmap(font_obj: int) -> tuple[dict[bytes, str], int]:
        m = re.search(rb"/ToUnicode (\d+) 0 R", objects[font_obj])
        if not m:
            return {}, 1
        text = stream(objects[int(m.group(1))])
        table: dict[bytes, str] = {}
        width = 1
        for lo, hi, dst in re.findall(rb"<([0-9a-fA-F]+)> <([0-9a-fA-F]+)> (\[[^\]]*\]|<[0-9a-fA-F]+>)", text):
            width = len(lo) // 2
            start, end = int(lo, 16), int(hi, 16)
            targets = re.findall(rb"<([0-9a-fA-F]+)>", dst)
            for k, code in enumerate(range(start, end + 1)):
                if dst.startswith(b"["):
                    uni = targets[k]
                else:
                    uni = b"%04x" % (int(targets[0], 16) + k)
                table[code.to_bytes(width, "big")] = bytes.fromhex(uni.decode()).decode("utf-16-be")
        for src, dst in re.findall(rb"<([0-9a-fA-F]{2,4})>\s+<([0-9a-fA-F]{4,8})>\s*\n", text):
            if b"> <" not in src:
                table[bytes.fromhex(src.decode())] = bytes.fromhex(dst.decode()).decode("utf-16-be")
        return table, width

    fonts: dict[bytes, tuple[dict[bytes, str], int]] = {}
    for name, ref in re.findall(rb"/(F\d+) (\d+) 0 R", pdf):
        fonts[name] = cmap(int(ref))

    pieces = []
    for body in objects.values():
        if b"stream" not in body:
            continue
        content = stream(body)
        if b"BT" not in content:
            continue
        pieces.append(_show_text(content, fonts))
    return "\n".join(pieces)


def _show_text(content: bytes, fonts: dict) -> str:
    """Scan a content stream once: strings shown by Tj/TJ, decoded with the font chosen by the last Tf."""
    out: list[str] = []
    strings: list[bytes] = []
    last_name = b""
    table, width = {}, 1
    i, n = 0, len(content)
    escapes = {ord("n"): 10, ord("r"): 13, ord("t"): 9, ord("b"): 8, ord("f"): 12}
    while i < n:
        c = content[i]
        if c == 0x28:  # "(": a literal string, with nesting and escapes
            depth, i, buf = 1, i + 1, bytearray()
            while i < n and depth:
                c = content[i]
                if c == 0x5C:
                    nxt = content[i + 1]
                    if 0x30 <= nxt <= 0x37:
                        j = i + 1
                        while j < min(i + 4, n) and 0x30 <= content[j] <= 0x37:
                            j += 1
                        buf.append(int(content[i + 1 : j], 8) & 0xFF)
                        i = j
                        continue
                    buf.append(escapes.get(nxt, nxt))
                    i += 2
                    continue
                depth += (c == 0x28) - (c == 0x29)
                if depth:
                    buf.append(c)
                i += 1
            strings.append(bytes(buf))
        elif c == 0x2F:  # "/": a name
            j = i + 1
            while j < n and content[j] not in b" \t\r\n/[]()<>":
                j += 1
            last_name = content[i + 1 : j]
            i = j
        elif chr(c).isalpha() or c in b"'\"":  # an operator
            j = i
            while j < n and (chr(content[j]).isalpha() or content[j] in b"*'\""):
                j += 1
            op = content[i:j]
            if op == b"Tf":
                table, width = fonts.get(last_name, ({}, 1))
            elif op in (b"Tj", b"TJ"):
                out.extend(
                    "".join(table.get(raw[k : k + width], "") for k in range(0, len(raw), width)) for raw in strings
                )
            strings = []
            i = j
        else:
            i += 1
    return "".join(out)


def _pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page(?![s\w])", pdf))


@pytest.fixture(scope="module")
def pdf(http) -> bytes:
    status, headers, body = http.get(f"/export/compare.pdf?ids={RUIAN},{YIWU}")
    assert status == 200, body[:300]
    assert headers["Content-Type"] == "application/pdf"
    assert "attachment" in headers["Content-Disposition"]
    assert "%E7%91%9E%E5%AE%89%E5%B8%82" in headers["Content-Disposition"]  # 瑞安市 in filename*
    return body


def test_pdf_is_one_page_naming_both_regions(pdf, tmp_path):
    assert pdf.startswith(b"%PDF-")
    assert pdf.rstrip().endswith(b"%%EOF")
    assert _pages(pdf) == 1
    text = _pdf_text(pdf)
    for expected in ("瑞安市", "义乌市", "地区生产总值", "1,485.6", "2021“科创中国”浙江创新基地与试点县"):
        assert expected in text, expected
    assert ".txt" not in text  # sources are documents by title, never files
    if shutil.which("pdftotext"):  # poppler, when installed, must agree
        path = tmp_path / "compare.pdf"
        path.write_bytes(pdf)
        out = subprocess.run(["pdftotext", str(path), "-"], capture_output=True, text=True, check=True).stdout
        assert "瑞安市" in out and "义乌市" in out
    if shutil.which("pdfinfo"):
        path = tmp_path / "compare.pdf"
        path.write_bytes(pdf)
        info = subprocess.run(["pdfinfo", str(path)], capture_output=True, text=True, check=True).stdout
        assert re.search(r"Pages:\s+1\b", info)


def test_pdf_in_english_shows_english_text(http):
    status, _headers, body = http.get(f"/export/compare.pdf?ids={RUIAN},{YIWU}&lang=en")
    assert status == 200 and body.startswith(b"%PDF-")
    text = _pdf_text(body)
    assert "Rui'an City" in text and "Yiwu City" in text and "GDP" in text
    assert "瑞安市" not in text and "地区生产总值" not in text
    assert "(in Chinese only)" in text  # Chinese-only text is marked, not shown


def test_pdf_of_four_cities_fits_its_pages(http):
    status, _headers, body = http.get("/export/compare.pdf?ids=330100,330200,330300,330400")
    assert status == 200 and body.startswith(b"%PDF-")
    text = _pdf_text(body)
    for name in ("杭州市", "宁波市", "温州市", "嘉兴市"):
        assert name in text


@pytest.mark.parametrize(
    ("query", "status"),
    [(f"?ids={RUIAN}", 400), (f"?ids={RUIAN},339999", 404), (f"?ids={RUIAN},{YIWU}&lang=fr", 400)],
)
def test_pdf_bad_input(http, query, status):
    assert http.error(f"/export/compare.pdf{query}")[0] == status


# ------------------------------------------------------------------ framing
def test_embed_may_be_framed_but_the_page_may_not(http):
    status, headers, body = http.get("/embed")
    assert status == 200 and b'class="embed"' in body
    assert "frame-ancestors *" in headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in headers
    status, headers, _ = http.get("/")
    assert status == 200
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY"
    status, headers, _ = http.get("/api/layers")  # everything else keeps the strict policy
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]


def test_embed_framing_follows_its_setting(tmp_path):
    from server import create_app
    from settings import load_settings

    app = create_app(load_settings(embed_frame_ancestors="https://news.example.org", data_dir=tmp_path))
    resp = app.test_client().get("/embed")
    assert "frame-ancestors https://news.example.org" in resp.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in resp.headers
    app = create_app(load_settings(embed_frame_ancestors="'self'", data_dir=tmp_path))
    assert app.test_client().get("/embed").headers["X-Frame-Options"] == "SAMEORIGIN"


def test_user_layers_count_as_sites_and_renew_the_answer(tmp_path):
    """A user point layer saved after a first comparison shows up in the next one (answers are keyed on the store's
    revision), with its features counted and named per region."""
    import geopandas as gpd
    import shapely

    from server import create_app
    from settings import load_settings

    app = create_app(load_settings(data_dir=tmp_path))
    client = app.test_client()
    before = client.get(f"/api/compare?ids={RUIAN},{YIWU}").get_json()
    assert not [r for r in before["sites"] if r["user"]]
    catalog = app.extensions["catalog"]
    counties = catalog.frame("counties")
    inside = [counties.loc[code].geometry.representative_point() for code in (RUIAN, RUIAN, YIWU)]
    frame = gpd.GeoDataFrame(
        {"name": ["实验室甲", "实验室乙", "实验室丙"]},
        geometry=[shapely.Point(p.x, p.y) for p in inside],
        crs="EPSG:4326",
    )
    layer = app.extensions["editor"].save("我的实验室", frame, actor="ed", source="labs.csv").id
    after = client.get(f"/api/compare?ids={RUIAN},{YIWU}").get_json()
    (row,) = [r for r in after["sites"] if r["user"]]
    assert (row["layer"], row["title"]) == (layer, "我的实验室")
    assert [c["count"] for c in row["cells"]] == [2, 1]
    assert sorted(s["name"] for s in row["cells"][0]["sites"]) == ["实验室乙", "实验室甲"]
    assert after["summary"]["regions"][0]["user_features"] == 2
