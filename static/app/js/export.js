/* The export menu (downloads of the listed layer) and the OGC API – Features address to copy. */
import { CONFIG, EXPORT_FORMATS } from "./config.js";
import { el, $, clear } from "./dom.js";
import { I18N, t } from "./i18n.js";
import { state, layerTitle } from "./state.js";
import { showStatus } from "./net.js";

const MAP_FORMATS = ["html", "png", "pdf"]; // drawn maps: legend, scale and footer follow the page's language

export function renderExport() {
  const id = state.tableLayer;
  $("#export-layer-name").textContent = layerTitle(id);
  const ul = clear($("#export-links"));
  EXPORT_FORMATS.forEach((ext) => {
    const query = new URLSearchParams();
    if (state.asOf !== null) query.set("as_of", String(state.asOf)); // what existed as of the map's year
    if (MAP_FORMATS.includes(ext) && I18N.lang !== "zh") query.set("lang", I18N.lang); // a map's own words
    const q = query.toString() ? "?" + query.toString() : "";
    ul.appendChild(el("li", {}, el("a", {
      text: t("export." + ext), attrs: { href: `/export/${encodeURIComponent(id)}.${ext}${q}`, download: `${id}.${ext}`, "data-testid": "export-" + ext },
    }), el("span", { className: "ext", text: "." + ext })));
  });
  const ogc = $("#ogc-url");
  ogc.value = CONFIG.ogc_url || (window.location.origin + "/ogc");
}
export function initOgcCopy() {
  $("#ogc-copy").addEventListener("click", async () => {
    const input = $("#ogc-url");
    input.select();
    let ok = false;
    try { await navigator.clipboard.writeText(input.value); ok = true; } catch (e) {
      try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
    }
    if (ok) showStatus(t("export.copied"));
  });
}
