"""Compare, share and embed in headless Chromium, as a user would: 瑞安市 added from its profile, 义乌市 from search,
the compare view with both columns and an aligned indicator row, the permalink that brings the comparison back,
the share dialog's link, citation and iframe snippet, and a page on another origin that frames /embed (shown)
and / (refused by the headers). Screenshots in test-output/compare-*.png and share-*.png."""

from __future__ import annotations

import re
import urllib.request

import pytest

from layers.catalog import DATA_DATE
from tests.conftest import serve

RUIAN = "330381"
YIWU = "330782"
IDLE = (
    "() => window.kechuang && document.body.dataset.ready === 'true' && window.kechuang.busy === 0"
    " && [...window.kechuang.state.visible].every((id) => window.kechuang.store.get(id).key !== null)"
)
SHEET = '[data-testid="profile-sheet"]'
DIALOG = '[data-testid="compare-dialog"]'


def _idle(page) -> None:
    page.wait_for_function(IDLE, timeout=60000)
    page.wait_for_timeout(150)
    page.wait_for_function(IDLE, timeout=60000)


@pytest.fixture()
def context(browser):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    yield ctx
    ctx.close()


def _open(context, url: str, lang: str = "zh"):
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.add_init_script(f"localStorage.setItem('kechuang.lang', '{lang}')")
    page.goto(url)
    _idle(page)
    page.errors = errors  # type: ignore[attr-defined]
    return page


def _search(page, text: str) -> None:
    page.fill("#search-input", text)
    page.wait_for_selector('[data-testid="search-result"]', timeout=15000)


def _chips(page) -> list[str]:
    return page.eval_on_selector_all('[data-testid="compare-chip"]', "els => els.map((e) => e.dataset.adcode)")


def _columns(page) -> list[str]:
    return page.eval_on_selector_all(
        '[data-testid="compare-column"]', "els => els.map((e) => e.querySelector('button').textContent)"
    )


def _wait_view(page) -> None:
    page.wait_for_selector(f'{DIALOG}[open] [data-testid="compare-table"]', timeout=30000)
    page.wait_for_timeout(200)


def test_compare_from_profile_and_search_then_reload(browser, context, live_server, output_dir):
    page = _open(context, live_server + "/")
    # 瑞安市: found by search, its profile opened, added with the profile's "对比" button
    _search(page, "瑞安市")
    page.keyboard.press("Enter")
    page.wait_for_function(
        "(sel) => { const s = document.querySelector(sel); return s && !s.hidden"
        " && document.getElementById('profile-title').textContent === '瑞安市' && s.querySelector('.compare-add'); }",
        arg=SHEET,
        timeout=30000,
    )
    button = page.locator(f'{SHEET} [data-testid="compare-add"]')
    assert button.inner_text() == "对比"
    button.click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=compare-chip]').length === 1")
    assert button.get_attribute("aria-pressed") == "true"
    assert _chips(page) == [RUIAN]
    assert page.locator("#compare-open").is_disabled()  # one region is not a comparison
    # 义乌市: added straight from the search results
    _search(page, "义乌")
    page.locator(f'[data-testid="search-result"][data-fid="{YIWU}"] [data-testid="search-compare"]').click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=compare-chip]').length === 2")
    assert _chips(page) == [RUIAN, YIWU]
    page.locator("#compare-open").focus()  # leaving the search box closes its list
    page.wait_for_selector("#search-results", state="hidden")
    page.screenshot(path=str(output_dir / "compare-tray.png"))

    page.locator("#compare-open").click()
    _wait_view(page)
    assert page.evaluate("() => document.activeElement.id") == "compare-heading"  # focus moved into the view
    assert _columns(page) == ["瑞安市", "义乌市"]
    heading = page.locator("#compare-heading").inner_text()
    assert "瑞安市" in heading and "义乌市" in heading
    rows = page.locator('[data-testid="compare-row"]')
    assert rows.count() >= 10
    for i in range(rows.count()):  # every indicator row has exactly one cell per region
        assert rows.nth(i).locator('[data-testid="compare-cell"]').count() == 2
    gdp = page.locator('[data-testid="compare-row"][data-label="地区生产总值"]')
    cells = gdp.locator('[data-testid="compare-cell"]')
    assert gdp.locator("th").inner_text() == "地区生产总值"
    assert cells.nth(0).inner_text().strip() == "—"  # 瑞安's sources give no GDP: said so, in its column
    yiwu = cells.nth(1).inner_text()
    assert "1,485.6" in yiwu and "亿元" in yiwu and "2020年" in yiwu
    assert "《2021“科创中国”浙江创新基地与试点县（市、区）专版》 第99–100行" in yiwu
    assert ".txt" not in page.locator(DIALOG).inner_text()  # documents by title, never file names
    designations = page.locator('[data-testid="compare-designations"] td')
    assert all("2021“科创中国”浙江省级试点县" in designations.nth(i).inner_text() for i in range(2))
    hz = page.locator('[data-testid="compare-sites"][data-layer="high-tech-zones"] td')
    assert hz.nth(0).inner_text().startswith("1 个") and "瑞安" in hz.nth(0).inner_text()
    assert hz.nth(1).inner_text().startswith("0 个")
    assert page.locator("#compare-pdf").get_attribute("href") == f"/export/compare.pdf?ids={RUIAN},{YIWU}&lang=zh"
    page.screenshot(path=str(output_dir / "compare-view.png"))

    url = page.url
    assert f"cmp={RUIAN},{YIWU}" in url and "cmpv=1" in url
    page.keyboard.press("Escape")  # closes the view, returns focus to the button that opened it
    page.wait_for_function("(sel) => !document.querySelector(sel).open", arg=DIALOG)
    assert page.evaluate("() => document.activeElement.id") == "compare-open"
    assert "cmpv=1" not in page.url and f"cmp={RUIAN},{YIWU}" in page.url
    assert not page.locator(SHEET).is_hidden()  # Esc closed the view only, not the profile under it
    assert page.errors == []  # type: ignore[attr-defined]

    # The permalink brings the comparison back, view open; in English each column shows English text
    again = _open(context, url)
    _wait_view(again)
    assert _columns(again) == ["瑞安市", "义乌市"]
    assert _chips(again) == [RUIAN, YIWU]
    again.screenshot(path=str(output_dir / "compare-permalink.png"))
    again.locator("#compare-close").click()
    again.locator("#lang-toggle").click()
    again.locator("#compare-open").click()
    _wait_view(again)
    assert _columns(again) == ["Rui'an City", "Yiwu City"]
    gdp = again.locator('[data-testid="compare-row"][data-label="地区生产总值"]')
    assert gdp.locator("th").inner_text() == "GDP"
    text = gdp.locator('[data-testid="compare-cell"]').nth(1).inner_text()
    assert "100M yuan" in text and ", lines 99–100" in text and "亿元" not in text
    assert again.locator("#compare-pdf").get_attribute("href").endswith("&lang=en")
    again.screenshot(path=str(output_dir / "compare-en.png"))
    assert again.errors == []  # type: ignore[attr-defined]


def test_compare_from_table_rows(context, live_server):
    page = _open(context, live_server + "/#t=counties")
    page.wait_for_selector(f'#feature-rows tr[data-fid="{RUIAN}"]')
    page.locator(f'#feature-rows tr[data-fid="{RUIAN}"] [data-testid="row-compare"]').click()
    page.wait_for_function("() => document.querySelectorAll('[data-testid=compare-chip]').length === 1")
    row = page.locator(f'#feature-rows tr[data-fid="{YIWU}"]')
    row.focus()
    page.keyboard.press("c")  # the keyboard's way to the same action
    page.wait_for_function("() => document.querySelectorAll('[data-testid=compare-chip]').length === 2")
    assert _chips(page) == [RUIAN, YIWU]
    page.locator(f'[data-testid="compare-chip"][data-adcode="{RUIAN}"] button').click()
    assert _chips(page) == [YIWU]
    _search(page, "瑞安市")  # from the search box's keyboard: Shift+Enter adds the highlighted result
    page.keyboard.press("Shift+Enter")
    page.wait_for_function("() => document.querySelectorAll('[data-testid=compare-chip]').length === 2")
    assert _chips(page) == [YIWU, RUIAN]
    assert page.errors == []  # type: ignore[attr-defined]


def test_share_dialog_link_citation_and_embed(browser, live_server, output_dir):
    ctx = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    try:
        ctx.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server)
        page = _open(ctx, f"{live_server}/#s=counties:{RUIAN}&cmp={RUIAN},{YIWU}")
        page.wait_for_function("() => document.getElementById('profile-title').textContent === '瑞安市'")
        page.locator("#share-open").click()
        page.wait_for_selector('[data-testid="share-dialog"][open]')
        assert page.evaluate("() => document.activeElement.id") == "share-link"
        link = page.input_value("#share-link")
        assert link.startswith(live_server + "/#")
        assert f"s=counties:{RUIAN}" in link and f"cmp={RUIAN},{YIWU}" in link and "z=" in link and "l=" in link
        cite = page.input_value("#share-cite")
        assert cite.startswith("科创地图：瑞安市") and link in cite and DATA_DATE in cite and "v0.1.0" in cite
        snippet = page.input_value("#share-embed")
        assert re.fullmatch(r'<iframe src="[^"]+" title="科创地图" width="800" height="560" [^<>]*></iframe>', snippet)
        assert f'src="{live_server}/embed#' in snippet
        page.locator("#share-copy-link").click()
        page.wait_for_function("() => document.getElementById('share-message').textContent !== ''")
        assert page.locator("#share-message").inner_text() == "已复制到剪贴板"
        assert page.evaluate("() => navigator.clipboard.readText()") == link
        page.locator("#share-copy-cite").click()
        page.wait_for_function("(c) => navigator.clipboard.readText().then((t) => t === c)", arg=cite)
        page.screenshot(path=str(output_dir / "share-dialog.png"))
        page.keyboard.press("Escape")
        page.wait_for_function("() => !document.getElementById('share-dialog').open")
        assert page.evaluate("() => document.activeElement.id") == "share-open"
        assert not page.locator(SHEET).is_hidden()
        assert page.errors == []  # type: ignore[attr-defined]

        # The shared link restores the view: the profile and the comparison tray
        other = _open(ctx, link)
        other.wait_for_function("() => document.getElementById('profile-title').textContent === '瑞安市'")
        assert _chips(other) == [RUIAN, YIWU]
        assert other.evaluate("() => window.kechuang.state.selected") == {"layer": "counties", "id": RUIAN}
    finally:
        ctx.close()


def test_copy_falls_back_to_selecting_the_text(browser, live_server):
    """Without clipboard permission the Clipboard API refuses: the text is then selected in its read-only field."""
    ctx = browser.new_context(viewport={"width": 1200, "height": 800}, locale="zh-CN")
    try:
        page = _open(ctx, live_server + "/")
        page.evaluate("() => { Object.defineProperty(navigator, 'clipboard', { value: undefined }); }")
        page.evaluate("() => { document.execCommand = () => false; }")
        page.locator("#share-open").click()
        page.locator("#share-copy-embed").click()
        page.wait_for_function("() => document.getElementById('share-message').textContent !== ''")
        assert "Ctrl+C" in page.locator("#share-message").inner_text()
        selected = page.evaluate(
            "() => { const f = document.activeElement; return [f.id, f.value.slice(f.selectionStart, f.selectionEnd)]; }"
        )
        assert selected == ["share-embed", page.input_value("#share-embed")]
    finally:
        ctx.close()


def test_embed_is_framed_elsewhere_the_page_is_not(browser, live_server, output_dir):
    for path, framing, xfo in (("/embed", "frame-ancestors *", None), ("/", "frame-ancestors 'none'", "DENY")):
        with urllib.request.urlopen(live_server + path, timeout=60) as resp:
            assert framing in resp.headers["Content-Security-Policy"]
            assert resp.headers.get("X-Frame-Options") == xfo
    view = f"z=9&c=27.8,120.5&s=counties:{RUIAN}"
    html = (
        "<!doctype html><meta charset=utf-8><title>report</title><h1>A report</h1>"
        f'<iframe id="ok" src="{live_server}/embed#{view}" width="760" height="460" title="embed"></iframe>'
        f'<iframe id="no" src="{live_server}/#{view}" width="300" height="200" title="page"></iframe>'
    ).encode()

    def report(environ, start_response):  # another origin (another port) that frames both pages
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html]

    ctx = browser.new_context(viewport={"width": 1160, "height": 760})
    try:
        page = ctx.new_page()
        with serve(report) as host:
            assert host != live_server
            page.goto(f"{host}/report.html")
            page.wait_for_function("() => document.querySelectorAll('iframe').length === 2")
        embed = next(f for f in page.frames if "/embed" in f.url)
        embed.wait_for_function(IDLE, timeout=60000)
        embed.wait_for_function("() => document.getElementById('profile-title').textContent === '瑞安市'")
        assert embed.evaluate("() => document.body.classList.contains('embed')")
        assert not embed.locator("#side-panel").is_visible()
        assert not embed.locator(".app-header").is_visible()
        assert embed.locator("#map .leaflet-pane path").count() > 10  # the map is drawn
        link = embed.locator('[data-testid="embed-open"]')
        assert link.is_visible() and link.inner_text() == "打开完整地图 ↗"
        assert link.get_attribute("href").startswith(
            live_server + "/#"
        ) and f"s=counties:{RUIAN}" in link.get_attribute("href")
        assert link.get_attribute("target") == "_blank"
        page.wait_for_timeout(500)
        refused = page.frame_locator("#no")
        blocked = next(f for f in page.frames if f.parent_frame is not None and "/embed" not in f.url)
        assert blocked.url.startswith("chrome-error://") or blocked.evaluate("() => !document.getElementById('map')")
        assert refused.locator("#map").count() == 0
        page.screenshot(path=str(output_dir / "share-embed.png"))
    finally:
        ctx.close()
