"""The import flow in headless Chromium: sign in through /login, open "导入名单 / Import a list", upload a CSV with
an unmatched row, settle it in the dialog, save, find the layer under "我的图层 / My layers", click a feature and
read its popup (cells shown as text), export it, reload and find the layer again."""

from __future__ import annotations

import pytest

from settings import load_settings
from tests.conftest import serve
from tests.test_browser import MapPage

CSV = "区县,备注,高新技术企业数\n西湖区,<b>x</b>,12\n萧山去,ok,30\n江干区,renamed,7\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from layers.users import open_users
    from server import create_app

    data_dir = tmp_path_factory.mktemp("data")
    creds = open_users(data_dir).add("ed", "editor")
    app = create_app(load_settings(data_dir=data_dir))
    with serve(app) as base:
        yield {"base": base, "creds": creds}


# The dialog's text that comes from the file or the gazetteer (names, columns, candidates), not from the UI.
USER_DATA = (
    "#import-rows td:nth-child(2), #import-rows td:nth-child(4) > span, .import-note, "
    "#import-name-column option:not([value='']), #import-lon option:not([value='']), "
    "#import-lat option:not([value='']), select.import-choice option:not([value='']):not([value='skip'])"
)


def chinese_labels(page) -> list[str]:
    """The import dialog's UI texts and accessible names (user data left out) that hold Chinese characters."""
    return page.evaluate(
        """(skip) => {
          const dlg = document.querySelector('#import-dialog'), out = [], han = /[\u3400-\u9fff\uff01-\uff5e]/;
          const walker = document.createTreeWalker(dlg, NodeFilter.SHOW_TEXT);
          for (let n = walker.nextNode(); n; n = walker.nextNode()) {
            if (n.parentElement.closest(skip)) continue;
            if (han.test(n.textContent)) out.push(n.textContent.trim());
          }
          dlg.querySelectorAll('[aria-label], [title], [placeholder]').forEach((e) => {
            if (e.matches('select.import-choice')) return;  // "Row 2: <the file's name>"
            ['aria-label', 'title', 'placeholder'].forEach((a) => {
              const v = e.getAttribute(a);
              if (v && han.test(v)) out.push(a + '=' + v);
            });
          });
          return out;
        }""",
        USER_DATA,
    )


def test_sign_in_import_settle_save_click_export_reload(browser, site, output_dir):
    mp = MapPage(browser, site["base"])
    page = mp.page
    try:
        assert page.locator('[data-testid="import-open"]').is_hidden()
        page.locator('[data-testid="sign-in"]').click()
        page.wait_for_url("**/login?next=/&lang=zh")
        assert page.locator("button[type=submit]").inner_text() == "登录"
        page.fill('input[name="name"]', "ed")
        page.fill('input[name="password"]', site["creds"].password)
        page.click('button[type="submit"]')
        page.wait_for_url(site["base"] + "/**")
        mp.wait_idle()
        assert page.locator('[data-testid="account-name"]').inner_text() == "ed"
        assert page.locator('[data-testid="sign-out"]').is_visible()

        page.locator('[data-testid="import-open"]').click()
        dialog = page.locator('[data-testid="import-dialog"]')
        assert dialog.is_visible()
        page.screenshot(path=str(output_dir / "import-dialog.png"))
        page.set_input_files(
            '[data-testid="import-file"]',
            files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": CSV.encode("gb18030")}],
        )
        page.wait_for_selector("#import-rows tr >> nth=2")
        counts = page.locator('[data-testid="import-counts"]').inner_text()
        assert "3 行" in counts and "未匹配：1" in counts and "旧名：1" in counts
        rows = page.locator("#import-rows tr")
        assert "江干区" in rows.nth(2).inner_text() and "上城区" in rows.nth(2).inner_text()
        assert page.locator('[data-testid="import-name-column"]').input_value() == "区县"
        page.wait_for_function("() => document.querySelector('#import-preview').dataset.count === '2'")
        page.screenshot(path=str(output_dir / "import-report.png"))

        # saving with the unmatched row open is refused and says which row
        page.locator('[data-testid="import-save"]').click()
        page.wait_for_function("() => document.querySelector('#import-message').textContent.includes('2')")
        assert dialog.is_visible()
        choice = page.locator('[data-testid="import-choice-2"]')
        assert "萧山区" in choice.inner_text()
        choice.select_option("330109")
        page.fill('[data-testid="import-title"]', "我的高企名单")
        page.locator('[data-testid="import-save"]').click()
        page.wait_for_selector('fieldset[data-group="user"] input[type="checkbox"]:checked')
        assert dialog.is_hidden()
        group = page.locator('fieldset[data-group="user"]')
        assert "我的图层" in group.inner_text() and "我的高企名单" in group.inner_text()
        layer_id = group.locator(".layer-row").first.get_attribute("data-layer")
        assert layer_id.startswith("user-")
        mp.wait_idle()
        page.screenshot(path=str(output_dir / "import-layer.png"))

        # click the region of 西湖区 and read the row's own columns, the markup shown as text
        x, y = mp.point_inside(f".lyr-{layer_id}.fid-330106")
        page.mouse.click(x, y)
        text = mp.wait_popup_text("<b>x</b>")
        assert "高新技术企业数" in text and "12" in text
        assert mp.popup().locator("b").count() == 0
        page.screenshot(path=str(output_dir / "import-popup.png"))

        # the export menu lists the layer; its link downloads it
        href = page.locator('[data-testid="export-geojson"]').get_attribute("href")
        assert href == f"/export/{layer_id}.geojson"
        resp = page.request.get(site["base"] + href)
        assert resp.status == 200 and len(resp.json()["features"]) == 3

        page.reload()
        mp.wait_idle()
        assert page.locator(f'[data-testid="layer-toggle-{layer_id}"]').count() == 1
        assert "我的高企名单" in page.locator('fieldset[data-group="user"]').inner_text()
        page.screenshot(path=str(output_dir / "import-reload.png"))

        # in English the dialog and the account bits carry no Chinese label (the file's own text excepted)
        page.locator('[data-testid="lang-toggle"]').click()
        page.wait_for_function("() => document.documentElement.lang === 'en'")
        assert page.locator('[data-testid="sign-out"]').inner_text() == "Sign out"
        assert page.locator('[data-testid="import-open"]').inner_text() == "Import a list"
        page.locator('[data-testid="import-open"]').click()
        assert not chinese_labels(page), chinese_labels(page)
        page.set_input_files(
            '[data-testid="import-file"]',
            files=[{"name": "名单.csv", "mimeType": "text/csv", "buffer": CSV.encode("gb18030")}],
        )
        page.wait_for_selector("#import-rows tr >> nth=2")
        counts = page.locator('[data-testid="import-counts"]').inner_text()
        assert "3 rows" in counts and "unmatched: 1" in counts and "former: 1" in counts
        page.locator('[data-testid="import-choice-2"]').select_option("skip")
        assert not chinese_labels(page), chinese_labels(page)
        page.screenshot(path=str(output_dir / "import-dialog-en.png"))
        # a language switch while the dialog is open swaps every label, and keeps the choice made
        page.evaluate("() => window.kechuang.setLang('zh')")
        assert "未匹配：1" in page.locator('[data-testid="import-counts"]').inner_text()
        assert page.locator("#import-check").inner_text() == "检查"
        page.evaluate("() => window.kechuang.setLang('en')")
        assert not chinese_labels(page), chinese_labels(page)
        assert page.locator('[data-testid="import-choice-2"]').input_value() == "skip"
        assert not mp.page_errors, mp.page_errors
    finally:
        mp.close()


def test_sign_in_page_follows_the_language_of_the_map(site):
    """The sign-in link carries the map's language; the page (and its messages) are then in that language only."""
    import re
    import urllib.error
    import urllib.parse
    import urllib.request

    han = re.compile(r"[\u3400-\u9fff]")
    with urllib.request.urlopen(site["base"] + "/login?next=/&lang=en", timeout=30) as resp:
        page = resp.read().decode()
    assert '<html lang="en">' in page and "Sign in" in page and not han.search(page)
    body = urllib.parse.urlencode({"name": "ed", "password": "x", "lang": "en"}).encode()
    try:
        urllib.request.urlopen(urllib.request.Request(site["base"] + "/login", data=body), timeout=30)
        raise AssertionError("a form without its CSRF token must be refused")
    except urllib.error.HTTPError as err:
        status, refused = err.code, err.read().decode()
    assert status == 400 and "The form has expired" in refused and not han.search(refused)
    with urllib.request.urlopen(site["base"] + "/login?lang=zh", timeout=30) as resp:
        page = resp.read().decode()
    assert "用户名" in page and "Password" not in page
