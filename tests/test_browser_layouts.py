"""Science-city layouts that can be read, a light reference layer, and markers that neither overlap nor hide names.

Headless Chromium at 1440×900 and on a 390×844 phone, against the app served over HTTP. Screenshots go to
test-output/layouts-*.png.
"""

from __future__ import annotations

import json
import urllib.request

import pytest

from layers.styles import style_table

IDLE = (
    "() => window.kechuang && document.body.dataset.ready === 'true' && window.kechuang.busy === 0"
    " && [...window.kechuang.state.visible].every((id) => window.kechuang.store.get(id).key !== null)"
)
DESKTOP = (1440, 900)
PHONE = (390, 844)
ZONES = "province,cities,counties,science-cities,science-city-zones,reference"

# Each layout: a view that shows it whole, the parent's name, its slogan, the zones ("role · name") expected.
LAYOUTS = {
    "qiantang": {
        "view": "z=13&c=30.325,120.345",
        "parent": "杭州钱塘科学城",
        "slogan": "一核引领、两区联动、全域覆盖",
        "core": "qiantang-sc-university-ring-core",
    },
    "yuecheng-binhai": {
        "view": "z=13&c=30.108,120.682",
        "parent": "绍兴滨海科技城",
        "slogan": "“一核、三区”",
        "core": "binhai-science-city-core",
    },
    "yuecheng-jinghu": {
        "view": "z=13&c=30.068,120.560",
        "parent": "镜湖科技城",
        "slogan": "三大园区",
        "core": None,
    },
}


def api(base: str, path: str):
    with urllib.request.urlopen(base + path, timeout=60) as resp:
        return json.loads(resp.read())


def open_page(browser, base: str, hash_: str, viewport, touch: bool = False):
    context = browser.new_context(
        viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN", has_touch=touch, is_mobile=touch
    )
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(base + "/" + ("#" + hash_ if hash_ else ""))
    wait_idle(page)
    return context, page, errors


def wait_idle(page) -> None:
    page.wait_for_function(IDLE, timeout=30000)
    page.wait_for_timeout(400)  # marker-cluster and label placement run after the data arrive
    page.wait_for_function(IDLE, timeout=30000)


def visible_boxes(page, selector: str) -> list[dict]:
    """Boxes of the elements matching `selector` that are shown inside the map."""
    return page.evaluate(
        """(sel) => {
          const m = document.getElementById('map').getBoundingClientRect();
          return [...document.querySelectorAll(sel)].map((n) => {
            const r = n.getBoundingClientRect();
            const cs = getComputedStyle(n);
            const hidden = n.closest('.label-hidden') || cs.visibility === 'hidden' || cs.display === 'none'
              || cs.opacity === '0';
            return {x: r.left, y: r.top, w: r.width, h: r.height, text: n.textContent, hidden: !!hidden,
                    cls: n.className && n.className.baseVal !== undefined ? n.className.baseVal : n.className,
                    title: n.getAttribute('title') || '', z: Number(getComputedStyle(n.closest('.leaflet-pane')).zIndex)};
          }).filter((b) => !b.hidden && b.w > 0 && b.x + b.w > m.left && b.x < m.right && b.y + b.h > m.top
                           && b.y < m.bottom);
        }""",
        selector,
    )


def overlap(a: dict, b: dict) -> bool:
    return (
        a["x"] < b["x"] + b["w"] and b["x"] < a["x"] + a["w"] and a["y"] < b["y"] + b["h"] and b["y"] < a["y"] + a["h"]
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_layout_zones_carry_role_and_name_and_the_slogan(browser, live_server, output_dir, layout, viewport):
    spec = LAYOUTS[layout]
    table = style_table()
    zones = api(live_server, "/api/layers/science-city-zones")["features"]
    mine = [f for f in zones if f["properties"]["parent_name"] == spec["parent"]]
    assert mine, f"no zones of {spec['parent']}"
    roles_zh = {"core": "核心区", "zone": "功能区", "park": "园区", "block": "区块", "axis": "发展轴", "node": "节点"}
    context, page, errors = open_page(browser, live_server, f"{spec['view']}&l={ZONES}", viewport)
    try:
        page.screenshot(path=str(output_dir / f"layouts-{layout}-{'phone' if viewport == PHONE else 'desktop'}.png"))
        shown = {b["text"] for b in visible_boxes(page, "[data-testid=zone-label]")}
        expected = {f"{roles_zh[f['properties']['role']]} · {f['properties']['name']}" for f in mine}
        # On the desktop every zone of the layout is labelled; on the phone a label that would collide with one
        # placed before it is hidden, but the core and most zones still read.
        if viewport == DESKTOP:
            assert expected <= shown, f"missing zone labels: {expected - shown}"
        else:
            assert len(expected & shown) >= (len(expected) + 1) // 2, f"too few zone labels: {expected & shown}"
        if spec["core"]:
            core = next(f for f in mine if f["id"] == spec["core"])
            assert f"核心区 · {core['properties']['name']}" in shown
        # The slogan with its parent, over the layout and in the legend.
        slogans = [b["text"] for b in visible_boxes(page, "[data-testid=layout-slogan]")]
        assert any(spec["parent"] in s and spec["slogan"] in s for s in slogans), slogans
        legend = page.locator("[data-testid=legend-layouts]").inner_text()
        assert spec["parent"] in legend and spec["slogan"] in legend
        # The core is drawn apart: solid and heavier than the zones, as the style table says, and on top.
        paths = page.evaluate(
            """() => [...document.querySelectorAll('path.lyr-science-city-zones')].map((p, i) => ({
                 i, core: p.classList.contains('role-core'), dash: p.getAttribute('stroke-dasharray'),
                 width: Number(p.getAttribute('stroke-width')), svg: p.ownerSVGElement && p.ownerSVGElement.id
                   || [...document.querySelectorAll('svg')].indexOf(p.ownerSVGElement)}))"""
        )
        cores = [p for p in paths if p["core"]]
        others = [p for p in paths if not p["core"]]
        assert cores and others
        assert all(p["dash"] in (None, "") for p in cores)
        assert all(p["width"] == table["roles"]["core"]["weight"] for p in cores)
        assert all(p["dash"] and p["width"] < table["roles"]["core"]["weight"] for p in others)
        assert max(p["i"] for p in others) < min(p["i"] for p in cores), "the cores are drawn over the zones"
        assert not errors
    finally:
        context.close()


def test_reference_layer_is_served_and_drawn_under_the_others(browser, live_server, output_dir):
    catalog = api(live_server, "/api/layers")
    meta = next(m for m in catalog["layers"] if m["id"] == "reference")
    assert meta["default_visible"] and meta["group_title"] == "底图参考"
    fc = api(live_server, "/api/layers/reference")
    kinds = {f["properties"]["kind"] for f in fc["features"]}
    assert {"sea", "lake"} <= kinds
    assert "reference" in catalog["styles"] and set(catalog["styles"]["reference"]) >= kinds
    context, page, errors = open_page(browser, live_server, "", DESKTOP)
    try:
        page.screenshot(path=str(output_dir / "layouts-reference.png"))
        drawn = page.evaluate(
            """() => {
              const z = (name) => Number(getComputedStyle(window.kechuang.map.getPane(name)).zIndex);
              const ref = window.kechuang.map.getPane('p-reference');
              return {ref: z('p-reference'), paths: ref.querySelectorAll('path').length,
                      events: getComputedStyle(ref).pointerEvents,
                      others: ['p-pilot-counties', 'p-science-city-zones', 'p-cities', 'p-province', 'p-corridors',
                               'markerPane', 'p-labels'].map(z)};
            }"""
        )
        assert drawn["paths"] >= 2, "sea and lakes are drawn"
        assert drawn["events"] == "none", "the reference takes no clicks"
        assert all(drawn["ref"] < z for z in drawn["others"]), drawn
        assert not errors
    finally:
        context.close()


def test_markers_cluster_at_province_zoom_and_city_names_stay_readable(browser, live_server, output_dir):
    context, page, errors = open_page(browser, live_server, "", DESKTOP)
    try:
        page.screenshot(path=str(output_dir / "layouts-clusters-province.png"))
        clusters = page.evaluate(
            """() => [...document.querySelectorAll('.kc-cluster')].map((c) => ({
                 count: Number(c.querySelector('.cluster-count').textContent), role: c.getAttribute('role'),
                 name: c.textContent, title: c.getAttribute('title') || '', symbols: c.querySelectorAll('svg').length}))"""
        )
        assert clusters, "co-located markers form clusters at province zoom"
        assert all(c["count"] >= 2 for c in clusters)
        assert all(c["symbols"] >= 1 for c in clusters), "a cluster shows the symbols of what it holds"
        assert all(f"{c['count']} 个地点" in c["name"] and c["title"] for c in clusters), "clusters have a name"
        # Every visible point feature is either a marker on the map or counted in a cluster.
        total = page.evaluate(
            """() => { const k = window.kechuang; return [...k.state.visible].filter((id) =>
                 k.state.meta.get(id).kind === 'sites' && k.state.meta.get(id).geometry_type === 'Point')
                 .reduce((n, id) => n + k.store.get(id).features.length, 0); }"""
        )
        singles = page.locator(".leaflet-marker-pane .site-icon").count()
        assert singles + sum(c["count"] for c in clusters) == total
        # City names are not covered: where a marker or cluster overlaps a city label, the label is on top.
        labels = visible_boxes(page, ".city-label span")
        assert len(labels) == 11
        markers = visible_boxes(page, ".leaflet-marker-pane .site-icon, .leaflet-marker-pane .kc-cluster")
        hits = [(lab, m) for lab in labels for m in markers if overlap(lab, m)]
        assert all(lab["z"] > m["z"] for lab, m in hits), hits
        assert not errors
    finally:
        context.close()


def test_phone_tap_opens_the_marker_under_the_finger_and_hit_boxes_stay_apart(browser, live_server, output_dir):
    context, page, errors = open_page(browser, live_server, "", PHONE, touch=True)
    try:
        # At province zoom 宁波国家高新区 shares a cluster with its neighbours: a tap zooms in to them.
        cluster = page.evaluate(
            """() => [...document.querySelectorAll('.kc-cluster')].map((c) => {
                 const r = c.getBoundingClientRect();
                 return {x: r.left + r.width / 2, y: r.top + r.height / 2, title: c.getAttribute('title')}; })
               .find((c) => c.title.includes('宁波国家高新区'))"""
        )
        assert cluster and cluster["title"].startswith(("2 ", "3 ", "4 ", "5 ", "6 "))
        z0 = page.evaluate("() => window.kechuang.map.getZoom()")
        page.touchscreen.tap(cluster["x"], cluster["y"])
        page.wait_for_timeout(900)
        wait_idle(page)
        assert page.evaluate("() => window.kechuang.map.getZoom()") > z0
        # Zoom until the two are markers of their own, then tap 宁波国家高新区 where it is on the screen.
        for _ in range(6):
            if page.locator(".site-icon.fid-ningbo-htz").count():
                break
            page.evaluate("() => window.kechuang.map.zoomIn(1, {animate: false})")
            wait_idle(page)
        page.screenshot(path=str(output_dir / "layouts-phone-ningbo.png"))
        box = page.locator(".site-icon.fid-ningbo-htz").bounding_box()
        assert box
        page.touchscreen.tap(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
        page.wait_for_function(
            "() => { const p = document.querySelector('#profile-sheet .popup-profile');"
            " return p && p.dataset.feature; }",
            timeout=15000,
        )
        opened = page.evaluate("() => document.querySelector('#profile-sheet .popup-profile').dataset.feature")
        assert opened == "high-tech-zones:ningbo-htz"
        page.screenshot(path=str(output_dir / "layouts-phone-ningbo-popup.png"))
        # No two markers' (or clusters') hit boxes overlap at this zoom.
        page.keyboard.press("Escape")  # closes the profile sheet
        boxes = visible_boxes(page, ".leaflet-marker-pane .site-icon, .leaflet-marker-pane .kc-cluster")
        assert len(boxes) >= 2
        clashes = [(a["cls"], b["cls"]) for i, a in enumerate(boxes) for b in boxes[i + 1 :] if overlap(a, b)]
        assert not clashes
        assert not errors
    finally:
        context.close()


def test_co_located_markers_spread_out_at_the_highest_zoom(browser, live_server, output_dir):
    """Two records at one spot (a site listed on two layers) stay one cluster even at zoom 18; a click spreads them."""
    sites = api(live_server, "/api/layers/high-tech-zones")["features"]
    where: dict[tuple, list] = {}
    for layer in ("innovation-bases", "science-cities", "high-tech-zones"):
        for f in api(live_server, f"/api/layers/{layer}")["features"]:
            where.setdefault(tuple(f["geometry"]["coordinates"]), []).append(f["id"])
    spot = next(k for k, v in where.items() if len(v) >= 2)
    assert sites
    context, page, errors = open_page(browser, live_server, f"z=18&c={spot[1]},{spot[0]}", DESKTOP)
    try:
        cluster = page.locator(".kc-cluster").first
        assert cluster.count() == 1 or page.locator(".kc-cluster").count() >= 1
        cluster.click()
        page.wait_for_timeout(800)
        page.screenshot(path=str(output_dir / "layouts-spiderfy.png"))
        boxes = visible_boxes(page, ".leaflet-marker-pane .site-icon")
        ids = where[spot]
        assert len([b for b in boxes if any(f"fid-{i}" in b["cls"] for i in ids)]) >= len(ids)
        spread = [b for b in boxes if any(f"fid-{i}" in b["cls"] for i in ids)]
        assert not [1 for i, a in enumerate(spread) for b in spread[i + 1 :] if overlap(a, b)]
        assert not errors
    finally:
        context.close()
