"""Thematic maps over real HTTP: the numeric fields of a layer, breaks equal to mapclassify's own on the same
values (taken independently from the curated records or the imported file), every bad input a 400 that says what
is accepted, a list imported through the real import path coloured by quantiles, and the same map in the printed
PNG (a region's pixels in its class colour, the legend's swatches) and in the offline HTML map."""

from __future__ import annotations

import io
import json
import re
import urllib.parse
import warnings

import mapclassify
import numpy as np
import pytest
import shapely
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure

from geo import mapprint
from layers.styles import THEMATIC, style_table
from settings import load_settings
from tests.conftest import Http, serve
from tests.test_import_http import upload
from tests.test_user_layers import Client, bearer

FIGURE = "2020年研发人员数目标"  # a figure the region records give for every city
COLUMN = "高新技术企业数"
CLASSIFIERS = {
    "quantiles": mapclassify.Quantiles,
    "natural_breaks": mapclassify.FisherJenks,
    "equal_interval": mapclassify.EqualInterval,
}


def q(path: str, **params) -> str:
    return path + "?" + urllib.parse.urlencode(params)


def curated(catalog, label: str) -> dict[str, float]:
    """adcode -> the number the region records give under `label` (read here from the records themselves)."""
    out: dict[str, float] = {}
    for record in catalog.data.regions:
        for fact in record.get("facts") or []:
            if fact.get("label") == label and isinstance(fact.get("value"), int | float):
                out[record["adcode"]] = float(fact["value"])
    return out


def mc_bins(values, method: str, k: int) -> list[float]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [float(b) for b in CLASSIFIERS[method](np.asarray(values, dtype=float), k=k).bins]


# ------------------------------------------------------------------ built-in layers
def test_a_region_layer_lists_its_curated_figures(http: Http):
    status, body = http.json("/api/thematic/cities")
    assert status == 200 and body["symbol"] == "choropleth"
    fields = {f["id"]: f for f in body["fields"]}
    field = fields["fact:" + FIGURE]
    assert field["label_en"] and field["unit"] == "人年" and field["unit_en"] == "person-years"
    assert field["count"] == 11 and field["years"] == [2020] and field["statuses"] == ["target"]
    assert all(f["count"] >= body["min_count"] for f in body["fields"])
    # figures only a couple of regions have are not offered; built-in layers offer no bookkeeping columns
    assert all(f["source"] == "figure" for f in body["fields"])
    assert http.json("/api/thematic/counties")[1]["fields"] == []
    assert http.json("/api/thematic/science-cities")[1]["symbol"] == "graduated"


@pytest.mark.parametrize("method", list(CLASSIFIERS))
@pytest.mark.parametrize("k", [3, 5, 7])
def test_breaks_equal_mapclassify(http: Http, catalog, method: str, k: int):
    values = curated(catalog, FIGURE)
    status, body = http.json(q("/api/thematic/cities", field="fact:" + FIGURE, method=method, k=k, palette="Blues"))
    assert status == 200, body
    assert body["breaks"] == pytest.approx(mc_bins(list(values.values()), method, k))
    assert body["k_used"] == k and len(body["classes"]) == k
    assert [c["color"] for c in body["classes"]] == THEMATIC["palettes"]["Blues"][str(k)]
    assert sum(c["count"] for c in body["classes"]) == len(values) and body["no_data"] == []
    for code, value in values.items():
        entry = body["features"][code]
        assert entry["value"] == value and entry["unit"] == "人年" and entry["status"] == "target"
        cls = body["classes"][entry["class"]]
        assert cls["min"] <= value <= cls["max"]
    assert body["unit_en"] == "person-years" and body["years"] == [2020]
    assert body["sources"] and all(s["title"] and s["count"] for s in body["sources"])


def test_answers_are_cached_with_etags(http: Http):
    path = q("/api/thematic/cities", field="fact:" + FIGURE, method="natural_breaks", k=4, palette="viridis")
    status, headers, _ = http.get(path)
    assert status == 200 and headers["ETag"]
    assert http.get(path, {"If-None-Match": headers["ETag"]})[0] == 304


@pytest.mark.parametrize(
    "params,says",
    [
        ({"field": "nope"}, "unknown field"),
        ({"field": "name"}, "not numeric"),
        ({"field": "fact:" + FIGURE, "k": "50"}, "from 3 to 7"),
        ({"field": "fact:" + FIGURE, "k": "2"}, "from 3 to 7"),
        ({"field": "fact:" + FIGURE, "k": "five"}, "integer"),
        ({"field": "fact:" + FIGURE, "method": "jenks"}, "quantiles, natural_breaks, equal_interval"),
        ({"field": "fact:" + FIGURE, "palette": "Reds"}, "YlGnBu"),
        ({"method": "quantiles"}, "field is required"),
        ({"field": "fact:国家高新技术企业"}, "unknown field"),  # a figure too few regions have
    ],
)
def test_bad_input_is_a_400_that_says_what_is_accepted(http: Http, params, says):
    status, message = http.error(q("/api/thematic/cities", **params))
    assert status == 400 and says in message


def test_layers_a_thematic_map_cannot_use(http: Http):
    status, message = http.error(q("/api/thematic/corridors", field="x"))
    assert status == 400 and "polygon" in message
    assert http.error("/api/thematic/no-such-layer")[0] == 404
    status, message = http.error(q("/export/cities.png", thematic="fact:" + FIGURE + ":quantiles:50:Blues"))
    assert status == 400 and "from 3 to 7" in message
    status, message = http.error(q("/export/cities.png", thematic="oops"))
    assert status == 400 and "<field>:<method>:<k>:<palette>" in message
    status, message = http.error(q("/export/cities.csv", thematic="fact:" + FIGURE + ":quantiles:5:Blues"))
    assert status == 400 and "html, png and pdf" in message


# ------------------------------------------------------------------ an imported list
@pytest.fixture(scope="module")
def imported(tmp_path_factory):
    """An app with its own data directory and a list of 12 counties imported through the real path (check,
    commit) with a numeric column; one county has no number, and a column has only 3 different values."""
    data_dir = tmp_path_factory.mktemp("thematic")
    from layers.users import open_users
    from server import create_app

    token = open_users(data_dir).add("ed", "editor").token
    app = create_app(load_settings(data_dir=data_dir))
    counties = app.extensions["catalog"].frame("counties")
    rows = counties.iloc[:12]
    numbers = [15, 230, 47, 88, 120, 9, 310, 64, 150, 72, 28, None]
    tiers = [1, 2, 3] * 4
    lines = [f"区县,{COLUMN},档次,单值,备注"] + [
        f"{name},{'' if n is None else n},{t},5,ok" for name, n, t in zip(rows["name"], numbers, tiers, strict=True)
    ]
    with serve(app) as base:
        c = Client(base)
        status, report = upload(c, "/api/imports", "高企.csv", "\n".join(lines).encode(), token)
        assert status == 200 and report["counts"]["matched"] == 12, report["counts"]
        status, body = c.json(
            "POST", f"/api/imports/{report['import_id']}/commit", {"title": "高企名单"}, bearer(token)
        )
        assert status == 201, body
        expected = {code: n for code, n in zip(rows["adcode"], numbers, strict=True) if n is not None}
        yield {
            "http": Http(base),
            "catalog": app.extensions["catalog"],
            "layer": body["layer"],
            "values": expected,
            "missing": rows["adcode"].iloc[-1],
        }


def test_an_imported_list_is_coloured_by_quantiles(imported):
    http, layer = imported["http"], imported["layer"]
    status, listing = http.json(f"/api/thematic/{layer}")
    assert status == 200
    fields = {f["id"]: f for f in listing["fields"]}
    assert fields[COLUMN]["source"] == "column" and fields[COLUMN]["count"] == 11
    status, body = http.json(q(f"/api/thematic/{layer}", field=COLUMN, method="quantiles", k=5, palette="YlGnBu"))
    assert status == 200, body
    values = imported["values"]
    assert body["breaks"] == pytest.approx(mc_bins(list(values.values()), "quantiles", 5))
    assert {code: e["value"] for code, e in body["features"].items()} == values
    assert body["no_data"] == [imported["missing"]]
    assert [c["color"] for c in body["classes"]] == THEMATIC["palettes"]["YlGnBu"]["5"]
    assert body["field"]["source"] == "column"


def test_fewer_values_than_classes_lowers_k_and_says_so(imported):
    http, layer = imported["http"], imported["layer"]
    status, body = http.json(q(f"/api/thematic/{layer}", field="档次", method="natural_breaks", k=5))
    assert status == 200, body
    assert body["k"] == 5 and body["k_used"] == 3 and "3" in body["note"]
    assert len(body["classes"]) == 3 and body["breaks"] == [1.0, 2.0, 3.0]
    status, message = http.error(q(f"/api/thematic/{layer}", field="备注"))
    assert status == 400 and "not numeric" in message and COLUMN in message
    status, message = http.error(q(f"/api/thematic/{layer}", field="单值"))  # one number everywhere: no classes
    assert status == 400 and "fewer than two different numbers" in message
    assert "单值" not in [f["id"] for f in http.json(f"/api/thematic/{layer}")[1]["fields"]]


def test_natural_breaks_has_a_limit(imported):
    """Exact Fisher–Jenks takes time with the square of the values: above the setting, a 400 naming the others."""
    from layers.thematic import Options, thematic

    catalog = imported["catalog"]
    options = Options(COLUMN, "natural_breaks", 3, "Blues")
    with pytest.raises(Exception, match="at most 10 values; '高新技术企业数' has 11: use quantiles") as info:
        thematic(catalog, imported["layer"], options, style_table(), natural_breaks_max=10)
    assert info.value.status == 400
    assert thematic(catalog, imported["layer"], options, style_table(), natural_breaks_max=11)["k_used"] == 3


def test_the_pdf_printout_takes_the_thematic_map(imported):
    http, layer = imported["http"], imported["layer"]
    status, headers, pdf = http.get(q(f"/export/{layer}.pdf", thematic=f"{COLUMN}:natural_breaks:3:Purples", dpi=72))
    assert status == 200 and headers["Content-Type"] == "application/pdf" and pdf.startswith(b"%PDF")


def _pixel(fig_size: tuple[int, int], rect, extent, lon: float, lat: float) -> tuple[int, int]:
    w, h = fig_size
    minx, miny, maxx, maxy = extent
    x = (rect[0] + (lon - minx) / (maxx - minx) * rect[2]) * w
    y = (rect[1] + (lat - miny) / (maxy - miny) * rect[3]) * h
    return round(x), round(h - y)


def _near(rgb, want, tol: float = 8) -> bool:
    return all(abs(int(a) - int(b)) <= tol for a, b in zip(rgb[:3], want, strict=False))


def _blend(color: str, under: str, alpha: float) -> tuple[int, ...]:
    return tuple(round(255 * (alpha * c + (1 - alpha) * u)) for c, u in zip(to_rgb(color), to_rgb(under), strict=True))


def test_the_printed_png_draws_regions_in_their_class_colours_with_a_legend(imported, output_dir):
    from PIL import Image

    http, layer = imported["http"], imported["layer"]
    answer = http.json(q(f"/api/thematic/{layer}", field=COLUMN, method="quantiles", k=5, palette="YlGnBu"))[1]
    status, fc = http.json(f"/api/layers/{layer}")
    shapes = {f["id"]: shapely.geometry.shape(f["geometry"]) for f in fc["features"]}
    bbox = shapely.union_all(list(shapes.values())).bounds
    status, headers, png = http.get(
        q(
            f"/export/{layer}.png",
            thematic=f"{COLUMN}:quantiles:5:YlGnBu",
            bbox=",".join(f"{v:.5f}" for v in bbox),
            dpi=100,
            over="",
        )
    )
    assert status == 200 and headers["Content-Type"] == "image/png"
    (output_dir / "thematic-print.png").write_bytes(png)
    image = Image.open(io.BytesIO(png)).convert("RGB")
    # where the map is on the page: the printed map's own layout rules (map rectangle, padded extent fitted to it)
    page = mapprint.Page("a4", "landscape", 100)
    rect = (0.06, 0.09, 0.67, 0.80)
    fig = Figure(figsize=page.inches, dpi=page.dpi)
    extent = mapprint._fit_box(*mapprint._extent([], bbox), fig, rect)
    region = THEMATIC["region"]
    axes = np.linspace(bbox[0], bbox[2], 60), np.linspace(bbox[1], bbox[3], 60)
    grid = shapely.points(np.stack(np.meshgrid(*axes), -1).reshape(-1, 2))
    checked = 0
    for code, entry in answer["features"].items():
        want = _blend(answer["classes"][entry["class"]]["color"], "#eef3f7", region["fill_opacity"])
        inner = shapes[code].buffer(-0.02)  # off the outlines
        inside = [p for p in grid if inner.contains(p)]
        if len(inside) < 8:  # too small to sample clear of its label
            continue
        hits = [_near(image.getpixel(_pixel(image.size, rect, extent, p.x, p.y)), want) for p in inside]
        assert sum(hits) / len(hits) > 0.6, (code, entry, sum(hits), len(hits))
        checked += 1
    assert checked >= 6
    # the legend (right of the map) shows a swatch of every class and of "no data"
    legend = image.crop((int(0.74 * image.size[0]), 0, image.size[0], int(0.8 * image.size[1])))
    colours = {legend.getpixel((x, y)) for x in range(legend.size[0]) for y in range(legend.size[1])}
    for cls in answer["classes"]:
        want = _blend(cls["color"], "#ffffff", region["fill_opacity"])
        assert any(_near(px, want, 6) for px in colours), cls


def test_the_html_export_carries_the_palette_and_legend(imported):
    http, layer = imported["http"], imported["layer"]
    answer = http.json(q(f"/api/thematic/{layer}", field=COLUMN, method="equal_interval", k=4, palette="Oranges"))[1]
    status, _, body = http.get(q(f"/export/{layer}.html", thematic=f"{COLUMN}:equal_interval:4:Oranges"))
    assert status == 200
    html = body.decode()
    legend = html[html.index('id="kc-legend"') :]
    legend = legend[: legend.index("</ul></div>")]
    for cls in answer["classes"]:
        assert f"background:{cls['color']}" in legend
        assert f"{mapprint_number(cls['min'])} – {mapprint_number(cls['max'])}" in legend
    assert "无数据 No data" in legend and f"{COLUMN}" in legend and "等间距 4 级" in legend
    for color in THEMATIC["palettes"]["Oranges"]["4"]:
        assert json.dumps(color) in html  # the features' fill colours, in the map's data
    data = re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), html)
    for code, value in imported["values"].items():  # each region's popup gives its value under the figure's name
        assert f"<th>{COLUMN}</th><td>{value}</td>" in data, code


def mapprint_number(value: float) -> str:
    from layers.thematic import fmt_number

    return fmt_number(value)
