"""Printed maps of the current view: labels placed without collisions, national and provincial high-tech zones
drawn apart, the web map's symbols and colours from the one style table, and sources cited by document title."""

from __future__ import annotations

import io
import itertools

import numpy as np
import pytest

from geo import mapprint
from geo.formats import ExportLayer
from layers.printing import print_sources
from layers.styles import print_style, style_table

SHAOXING = (120.35, 29.88, 121.0, 30.22)  # 柯桥, 越城, 上虞 and the 滨海新城
XIASHA = (120.22, 30.22, 120.62, 30.42)  # the 下沙 / 钱塘 cluster
DATA = ["pilot-counties", "science-city-zones", "high-tech-zones", "innovation-bases", "science-cities", "platforms"]


def _layers(catalog, bbox, data=DATA, context=("counties", "cities")):
    from geo.select import select_layers

    table = style_table()
    chosen = select_layers({i: catalog.frame(i) for i in data}, bbox=bbox, ids=None)
    out = [
        ExportLayer(i, catalog.spec(i).title, catalog.frame(i), catalog.metadata(i), print_style(table, i), True)
        for i in context
    ]
    out += [ExportLayer(i, catalog.spec(i).title, chosen[i], catalog.metadata(i), print_style(table, i)) for i in data]
    return out


def _overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("bbox", [SHAOXING, XIASHA], ids=["shaoxing", "xiasha"])
def test_printed_labels_never_overlap_and_the_important_ones_are_kept(catalog, bbox, output_dir):
    fig, _ = mapprint.layers_figure(_layers(catalog, bbox), {"bbox": bbox, "dpi": 150})
    placed = mapprint.placed_labels(fig)
    assert len(placed) >= 8
    for a, b in itertools.combinations(placed, 2):
        assert not _overlaps(a.box, b.box), f"{a.text} overlaps {b.text}"
    ax = next(a for a in fig.axes if a.get_gid() == "map")
    frame = ax.get_window_extent()
    assert all(frame.x0 <= p.box[0] and p.box[2] <= frame.x1 and frame.y0 <= p.box[1] for p in placed)
    texts = [p.text for p in placed]
    assert len(texts) == len(set(texts)), "a name is printed twice"
    priorities = [p.priority for p in placed]
    assert priorities == sorted(priorities), "labels are placed most important first"
    if bbox == SHAOXING:
        for name in ("柯桥区", "上虞区", "绍兴高新技术产业开发区", "滨海新城省级高新园区"):
            assert name in texts, f"{name} was dropped: {texts}"
    png = mapprint.save(fig, "png")
    name = "shaoxing" if bbox == SHAOXING else "xiasha"
    (output_dir / f"print-{name}.png").write_bytes(png)


def test_national_and_provincial_high_tech_zones_print_differently(catalog):
    fig, _ = mapprint.layers_figure(_layers(catalog, SHAOXING, data=["high-tech-zones"]), {"dpi": 100})
    ax = next(a for a in fig.axes if a.get_gid() == "map")
    title = catalog.spec("high-tech-zones").title
    lines = {ln.get_gid(): ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("points:")}
    national = lines[f"points:{title}:national-high-tech-zone"]
    provincial = lines[f"points:{title}:provincial-high-tech-zone"]
    table = style_table()
    color = table["layers"]["high-tech-zones"]["color"]
    from matplotlib.colors import to_hex

    assert to_hex(national.get_markerfacecolor()) == color  # filled with the layer colour
    assert to_hex(provincial.get_markerfacecolor()) == "#ffffff"  # hollow: white inside,
    assert to_hex(provincial.get_markeredgecolor()) == color  # a coloured outline
    assert national.get_markersize() > provincial.get_markersize()  # and the national one is larger (22 vs 19)
    legend = next(leg for leg in fig.legends if leg.get_gid() == "legend")
    labels = [t.get_text().strip() for t in legend.get_texts()]
    assert any(lb.startswith("国家级高新区") for lb in labels) and any(lb.startswith("省级高新区") for lb in labels)


def _rgb(hex_color: str) -> np.ndarray:
    return np.array([int(hex_color[i : i + 2], 16) for i in (1, 3, 5)])


def test_printed_png_uses_the_style_table_colours(catalog):
    """Issue 8: the printed map draws each zone role and each site layer's symbols in the table's colours."""
    from PIL import Image

    table = style_table()
    data = ["science-city-zones", "high-tech-zones", "innovation-bases", "science-cities", "platforms"]
    layers = _layers(catalog, None, data=data, context=("cities",))
    fig, _ = mapprint.layers_figure(layers, {"dpi": 150})
    pixels = np.asarray(Image.open(io.BytesIO(mapprint.save(fig, "png"))).convert("RGB")).astype(int)

    def count(hex_color: str) -> int:
        return int((np.abs(pixels - _rgb(hex_color)).sum(axis=2) <= 6).sum())

    for layer_id in ("high-tech-zones", "innovation-bases", "science-cities", "platforms"):
        assert count(table["layers"][layer_id]["color"]) > 30, layer_id
    used = set(catalog.frame("science-city-zones")["role"].dropna())
    for role in used:
        assert count(table["roles"][role]["color"]) > 10, role


def test_footer_cites_documents_by_title_and_boundaries_by_name(catalog, app):
    client = app.test_client()
    resp = client.get(
        "/export/high-tech-zones.png?layers=pilot-counties&over=counties&dpi=72&bbox=" + ",".join(map(str, SHAOXING))
    )
    assert resp.status_code == 200
    from PIL import Image

    source = Image.open(io.BytesIO(resp.data)).text["Source"]
    assert "《" in source and "高德地图行政区划（cnmaps 1.1.9 数据包" in source
    assert "PyPI" not in source and ".txt" not in source and "cnmaps==" not in source
    line = print_sources([catalog.frame("innovation-bases")])
    assert line.startswith("《") and "高德" not in line
