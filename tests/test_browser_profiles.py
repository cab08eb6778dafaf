"""Profiles a planner can use without help: every profile sheet fits the screen, sources read as document titles,
each language shows only its own data text, conflicts between sources are shown, and axe-core finds no serious
or critical accessibility problem. Desktop (1440×900) and phone (390×844); screenshots in test-output/profiles-*.png.
"""

from __future__ import annotations

import json
import re
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
AXE = next(iter(sorted((ROOT / "static" / "vendor").glob("axe-core-4*/axe.min.js"))), None)
DESKTOP = (1440, 900)
PHONE = (390, 844)
YUECHENG = "330602"
QIANTANG = "330114"
IDLE = (
    "() => window.kechuang && document.body.dataset.ready === 'true' && window.kechuang.busy === 0"
    " && [...window.kechuang.state.visible].every((id) => window.kechuang.store.get(id).key !== null)"
)
SHEET = '[data-testid="profile-sheet"]'
CJK = re.compile(r"[\u3400-\u9fff]")


def api(base: str, path: str):
    with urllib.request.urlopen(base + urllib.parse.quote(path, safe="/?=&,:"), timeout=60) as resp:
        return json.loads(resp.read())


class Page:
    def __init__(self, browser, base: str, viewport, hash_: str = "", lang: str = "zh"):
        # bypass_csp: axe-core is injected as an inline script for the test only (the page never loads it).
        self.context = browser.new_context(
            viewport={"width": viewport[0], "height": viewport[1]}, locale="zh-CN", bypass_csp=True
        )
        self.viewport = viewport
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.add_init_script(f"localStorage.setItem('kechuang.lang', '{lang}')")
        self.page.goto(base + "/" + (("#" + hash_) if hash_ else ""))
        self.idle()

    def idle(self):
        self.page.wait_for_function(IDLE, timeout=30000)
        self.page.wait_for_timeout(150)
        self.page.wait_for_function(IDLE, timeout=30000)

    def js(self, expr: str, arg=None):
        return self.page.evaluate(expr, arg) if arg is not None else self.page.evaluate(expr)

    @property
    def narrow(self) -> bool:
        return self.viewport[0] < 700

    def wait_sheet(self, title: str | None = None):
        self.page.wait_for_function(
            """([sel, t]) => { const s = document.querySelector(sel);
            return s && !s.hidden && !s.querySelector('.loading') && s.querySelector('.popup-profile')
              && (!t || document.getElementById('profile-title').textContent === t); }""",
            arg=[SHEET, title],
            timeout=15000,
        )
        self.page.wait_for_timeout(350)  # the drawer/sheet transition and the flight settle
        self.idle()

    def sheet_text(self) -> str:
        return self.page.locator(SHEET).inner_text()

    def assert_sheet_on_screen(self, what: str):
        """The sheet's box lies inside the viewport; its title and close button are the topmost elements there."""
        got = self.js(
            """(sel) => { const s = document.querySelector(sel), r = s.getBoundingClientRect();
            const top = (el) => { const b = el.getBoundingClientRect(), x = b.left + Math.min(b.width / 2, 20),
                y = b.top + b.height / 2, hit = document.elementFromPoint(x, y);
                return !!hit && (hit === el || el.contains(hit)) && b.width > 0 && b.height > 0; };
            return {box: [r.left, r.top, r.right, r.bottom], vw: innerWidth, vh: innerHeight,
                    title: top(document.getElementById('profile-title')), close: top(document.getElementById('profile-close')),
                    titleText: document.getElementById('profile-title').textContent}; }""",
            SHEET,
        )
        left, top, right, bottom = got["box"]
        assert left >= 0 and top >= 0 and right <= got["vw"] + 0.5 and bottom <= got["vh"] + 0.5, (what, got)
        assert bottom - top > 60, (what, got)
        assert got["title"] and got["titleText"].strip(), (what, "title hidden", got)
        assert got["close"], (what, "close button hidden", got)

    def list_layer(self, layer_id: str):
        if self.narrow:
            self.open_drawer()
        self.page.locator(f'[data-testid="layer-table-{layer_id}"]').click()
        self.idle()

    def open_drawer(self):
        if self.narrow and not self.js("() => document.body.classList.contains('panel-open')"):
            self.page.locator('[data-testid="panel-toggle"]').click()
            self.page.wait_for_timeout(350)

    def rows(self):
        return self.page.locator('[data-testid="table-row"]')

    def open_row(self, i: int) -> str:
        self.open_drawer()
        row = self.rows().nth(i)
        name = row.locator("td.name > span").first.inner_text()
        row.click()
        self.wait_sheet(name)
        return name

    def axe(self, what: str) -> list:
        assert AXE is not None, "axe-core is vendored under static/vendor/axe-core-<version>/"
        if not self.js("() => !!window.axe"):
            self.page.add_script_tag(path=str(AXE))
        found = self.js(
            """async () => { const r = await axe.run(document, {resultTypes: ['violations']});
            return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical')
              .map((v) => ({id: v.id, impact: v.impact, help: v.help, n: v.nodes.length,
                            nodes: v.nodes.slice(0, 4).map((n) => n.target.join(' '))})); }"""
        )
        assert found == [], (what, found)
        return found

    def shot(self, output_dir: Path, step: str):
        self.page.screenshot(path=str(output_dir / f"profiles-{step}.png"))

    def close(self):
        self.context.close()


@pytest.fixture
def pages(browser, live_server):
    opened: list[Page] = []

    def make(viewport=DESKTOP, hash_: str = "", lang: str = "zh") -> Page:
        p = Page(browser, live_server, viewport, hash_, lang)
        opened.append(p)
        return p

    yield make
    for p in opened:
        p.close()


def no_file_names(text: str):
    assert not re.search(r"\.txt\b", text), "a file name is shown"
    assert not re.search(r"\b[0-9a-f]{16}\b", text), "a file hash is shown"


def zh_data_text_clean(p: Page):
    """Chinese UI: location notes and units carry no English (digits and km² are fine)."""
    notes = p.page.locator('[data-testid="location-note"], .location-note').all_inner_texts()
    for n in notes:
        assert not re.search(r"[A-Za-z]", n), n
    for v in p.page.locator(f"{SHEET} .fig-unit").all_inner_texts():
        assert not re.search(r"[A-Za-z]", v.replace("km²", "")), v


def en_data_text_clean(p: Page):
    """English UI: no Chinese in units, values, notes, location notes, labels of facts, or sources' titles."""
    for sel in (
        ".fig-value",
        ".fig-unit",
        ".fig-note",
        ".location-note",
        "table.figures th",
        ".conflict-topic",
        ".conflict-note",
    ):
        for v in p.page.locator(f"{SHEET} {sel}").all_inner_texts():
            assert not CJK.search(v), (sel, v)


# ------------------------------------------------------------------ the walk
@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_every_base_and_science_city_opens_on_screen(pages, live_server, output_dir, viewport):
    tag = "desktop" if viewport == DESKTOP else "phone"
    p = pages(viewport)
    if viewport == DESKTOP:
        p.axe("first view")
        p.shot(output_dir, "first-view")
        # The marker of 杭州高新区（滨江）at the first view, clicked with the mouse.
        target = p.js(
            """() => { for (const [lid, e] of window.kechuang.store) for (const [fid, l] of e.index)
              if (l.getLatLng && /滨江/.test(l.feature.properties.name) && window.kechuang.state.visible.has(lid)
                  && l.feature.properties.kind && /high-tech/.test(l.feature.properties.kind))
                return {lid, fid, name: l.feature.properties.name}; return null; }"""
        )
        assert target, "the 杭州高新区（滨江） marker is on the first view"
        # At the first view the marker may sit in a cluster: open the cluster as a user would (zoom to it).
        p.page.evaluate(
            """([lid, fid]) => { const l = window.kechuang.store.get(lid).index.get(fid);
                 if (window.kechuang.cluster && window.kechuang.cluster.hasLayer(l))
                   window.kechuang.cluster.zoomToShowLayer(l, () => {}); }""",
            [target["lid"], target["fid"]],
        )
        el = p.page.locator(f".site-icon.lyr-{target['lid']}.fid-{target['fid']}")
        el.wait_for(state="visible")
        el.click()
        p.wait_sheet(target["name"])
        p.assert_sheet_on_screen(target["name"])
        p.shot(output_dir, "binjiang-marker")
        text = p.sheet_text()
        no_file_names(text)
        zh_data_text_clean(p)
        # Escape closes it and focus goes back to the marker.
        p.page.keyboard.press("Escape")
        p.page.wait_for_selector(SHEET, state="hidden")
        assert p.js("() => document.activeElement.classList.contains('leaflet-marker-icon')")
    for layer_id in ("innovation-bases", "science-cities"):
        p.list_layer(layer_id)
        n = p.rows().count()
        expected = len(api(live_server, f"/api/layers/{layer_id}")["features"])
        assert n == expected and n >= (6 if layer_id == "innovation-bases" else 9), (layer_id, n)
        for i in range(n):
            name = p.open_row(i)
            p.assert_sheet_on_screen(f"{layer_id} {name} ({tag})")
            no_file_names(p.sheet_text())
            zh_data_text_clean(p)
            if i == 0:
                p.shot(output_dir, f"{layer_id}-{tag}")
    assert p.errors == []


def test_site_profile_sources_statuses_and_conflicts(pages, live_server, output_dir):
    """A site with conflicts shows both sources; facts carry their status; sources fold away and read as titles."""
    data = {lid: api(live_server, f"/api/layers/{lid}")["features"] for lid in ("science-cities", "innovation-bases")}
    with_conflicts = [(lid, f) for lid, fs in data.items() for f in fs if f["properties"].get("conflicts")]
    p = pages(DESKTOP)
    if with_conflicts:
        lid, f = with_conflicts[0]
        fid = f["id"] if f.get("id") is not None else f["properties"]["id"]
        p.js(f"() => {{ window.kechuang.select('{lid}', '{fid}', {{fly: true}}); }}")
        p.wait_sheet(f["properties"]["name"])
        conflicts = p.page.locator(f'{SHEET} [data-testid="profile-conflicts"] li.conflict')
        assert conflicts.count() == len(f["properties"]["conflicts"])
        for c, want in zip(conflicts.all(), f["properties"]["conflicts"], strict=True):
            assert want["topic"] in c.inner_text()
            assert c.locator("li.source").count() == len(want["sources"])
            for ref in want["source_refs"]:
                assert ref["title"] in c.inner_text()
    # Statuses and alternatives anywhere in the site layers: opened and shown.
    facts = [
        (lid, f, fact)
        for lid, fs in data.items()
        for f in fs
        for fact in f["properties"].get("facts") or []
        if fact.get("status", "reported") != "reported" or fact.get("alternatives")
    ]
    for lid, f, fact in facts[:3]:
        fid = f["id"] if f.get("id") is not None else f["properties"]["id"]
        p.js(f"() => {{ window.kechuang.select('{lid}', '{fid}', {{fly: true}}); }}")
        p.wait_sheet(f["properties"]["name"])
        text = p.sheet_text()
        if fact.get("alternatives"):
            assert "另一来源" in text
        if fact.get("status", "reported") != "reported":
            assert p.page.locator(f'{SHEET} [data-testid="fact-status"]').count() >= 1
    details = p.page.locator(f'{SHEET} [data-testid="profile-sources"]')
    assert details.count() == 1 and details.get_attribute("open") is None, "sources are folded away"
    details.locator("summary").click()
    items = details.locator("li.source").all_inner_texts()
    assert items and all("《" in s and "行" in s for s in items), items
    no_file_names(p.page.locator("body").inner_text())
    p.shot(output_dir, "site-sources")
    p.axe("open site profile")
    assert p.errors == []


def test_region_profile_with_conflicts_and_keyboard(pages, live_server, output_dir):
    p = pages(DESKTOP)
    # Keyboard: Enter in the list opens the sheet, focus moves into it, Tab stays there, Esc returns to the row.
    row = p.rows().nth(1)
    fid = row.get_attribute("data-fid")
    name = row.locator("td.name > span").first.inner_text()
    row.focus()
    p.page.keyboard.press("Enter")
    p.wait_sheet(name)
    assert p.js(f"() => document.querySelector('{SHEET}').contains(document.activeElement)")
    p.page.keyboard.press("Tab")
    assert p.js(f"() => document.querySelector('{SHEET}').contains(document.activeElement)")
    p.assert_sheet_on_screen(name)
    p.page.keyboard.press("Escape")
    p.page.wait_for_selector(SHEET, state="hidden")
    assert p.js("() => document.activeElement.dataset.fid") == fid
    # 越城区 and 钱塘区: the profiles show where sources disagree, with both sources, and other sources' values.
    for code in (YUECHENG, QIANTANG):
        prof = api(live_server, f"/api/regions/{code}")
        p.js(f"() => {{ window.kechuang.select('counties', '{code}', {{fly: true}}); }}")
        p.wait_sheet(prof["name"])
        p.assert_sheet_on_screen(prof["name"])
        text = p.sheet_text()
        no_file_names(text)
        zh_data_text_clean(p)
        assert prof["conflicts"], code
        assert "来源不一致" in text
        conflicts = p.page.locator(f'{SHEET} [data-testid="profile-conflicts"] li.conflict')
        assert conflicts.count() == len(prof["conflicts"])
        for c, want in zip(conflicts.all(), prof["conflicts"], strict=True):
            assert want["topic"] in c.inner_text()
            assert c.locator("li.source").count() == len(want["sources"]) >= 1
            for ref in want["source_refs"]:
                assert ref["title"] in c.inner_text()
        alts = [f for f in prof["figures"] + prof["facts"] if f.get("alternatives")]
        shown = p.page.locator(f'{SHEET} [data-testid="fact-alternative"]')
        assert shown.count() == sum(len(f["alternatives"]) for f in alts)
        statuses = [f for f in prof["figures"] + prof["facts"] if f.get("status", "reported") != "reported"]
        assert p.page.locator(f'{SHEET} [data-testid="fact-status"]').count() == len(statuses)
        p.shot(output_dir, f"region-{code}")
    p.axe("open region profile")
    assert p.errors == []


def test_english_profiles_show_only_english(pages, live_server, output_dir):
    p = pages(DESKTOP, lang="en")
    assert p.js("() => document.documentElement.lang") == "en"
    prof = api(live_server, f"/api/regions/{YUECHENG}")
    p.js(f"() => {{ window.kechuang.select('counties', '{YUECHENG}', {{fly: true}}); }}")
    p.wait_sheet(prof["name_en"])
    en_data_text_clean(p)
    text = p.sheet_text()
    no_file_names(text)
    if prof.get("conflicts"):
        assert "Sources disagree" in text
    p.page.locator(f'{SHEET} [data-testid="profile-sources"] summary').click()
    items = p.page.locator(f'{SHEET} [data-testid="profile-sources"] li.source').all_inner_texts()
    assert items and all(re.search(r"lines? \d", s) for s in items), items
    p.shot(output_dir, "region-english")
    p.axe("English UI, region profile")
    p.list_layer("innovation-bases")
    for i in range(p.rows().count()):
        p.open_row(i)
        p.assert_sheet_on_screen(f"innovation base {i} (en)")
        en_data_text_clean(p)
        no_file_names(p.sheet_text())
    p.shot(output_dir, "site-english")
    p.axe("English UI, site profile")
    assert p.errors == []


def test_phone_drawer_and_axe(pages, live_server, output_dir):
    p = pages(PHONE)
    p.axe("phone, first view")
    p.list_layer("science-cities")
    p.open_row(0)
    p.assert_sheet_on_screen("phone science city")
    box = p.page.locator(SHEET).bounding_box()
    assert box["y"] + box["height"] >= PHONE[1] - 1 and box["width"] >= PHONE[0] - 1, "a bottom drawer"
    p.shot(output_dir, "phone-drawer")
    p.axe("phone, open profile")
    p.page.locator('[data-testid="profile-close"]').click()
    p.page.wait_for_selector(SHEET, state="hidden")
    assert p.js("() => window.kechuang.state.selected") is None
    assert p.errors == []
