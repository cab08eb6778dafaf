/* Base maps (none, or configured tile layers) and the datum they need (WGS-84 or GCJ-02), with its indicator. */
import { BASEMAPS } from "./config.js";
import { el, $, clear, cssId } from "./dom.js";
import { t, pick } from "./i18n.js";
import { wgsToGcj, gcjToWgs } from "./datum.js";
import { state, store, ctx } from "./state.js";
import { restyleAll } from "./styles.js";
import { ensureData } from "./layers.js";
import { updateHash } from "./urlstate.js";

export function buildBasemapControl() {
  const root = clear($("#basemap-control"));
  const options = [{ id: "none", title: t("basemap.none"), datum: "wgs84" }].concat(BASEMAPS);
  options.forEach((b) => {
    const input = el("input", { attrs: { type: "radio", name: "basemap", id: "bm-" + cssId(b.id), value: b.id, "data-testid": "basemap-" + b.id } });
    input.checked = state.basemap === b.id;
    input.addEventListener("change", () => { if (input.checked) setBasemap(b.id); });
    const title = b.id === "none" ? t("basemap.none") : pick(b, "title") || b.id;
    root.appendChild(el("div", { className: "basemap-row" }, input,
      el("label", { attrs: { for: "bm-" + cssId(b.id) } }, title, el("span", { className: "datum-tag", text: (b.datum === "gcj02" ? "GCJ-02" : "WGS-84") }))));
  });
}

export async function setBasemap(id, opts) {
  const bm = BASEMAPS.find((b) => b.id === id);
  if (!bm) id = "none";
  state.basemap = id;
  if (ctx.tileLayer) { ctx.map.removeLayer(ctx.tileLayer); ctx.tileLayer = null; }
  if (bm) {
    const o = { attribution: bm.attribution || "", maxZoom: bm.max_zoom || 18, maxNativeZoom: bm.max_zoom || 18 };
    if (bm.subdomains) o.subdomains = bm.subdomains;
    ctx.tileLayer = L.tileLayer(bm.url, o).addTo(ctx.map);
    ctx.tileLayer.bringToBack();
  }
  document.body.classList.toggle("has-tiles", !!bm);
  if (ctx.landLayer) { if (bm) ctx.map.removeLayer(ctx.landLayer); else ctx.landLayer.addTo(ctx.map); }
  const r = document.getElementById("bm-" + cssId(id));
  if (r) r.checked = true;
  restyleAll("counties");
  await setDatum(bm && bm.datum === "gcj02" ? "gcj02" : "wgs84", opts);
  if (!(opts && opts.silent)) updateHash();
}

export async function setDatum(datum, opts) {
  if (datum === state.datum) { updateDatumControl(); return; }
  const from = state.datum;
  state.datum = datum;
  updateDatumControl();
  if (!(opts && opts.keepView)) {
    const c = ctx.map.getCenter();
    const [lat, lng] = from === "wgs84" ? wgsToGcj(c.lat, c.lng) : gcjToWgs(c.lat, c.lng);
    ctx.map.setView([lat, lng], ctx.map.getZoom(), { animate: false });
  }
  const jobs = [];
  store.forEach((e, id) => { if (e.key !== null) jobs.push(ensureData(id).catch(() => null)); });
  await Promise.all(jobs);
}

export const DatumControl = L.Control.extend({
  options: { position: "bottomleft" },
  onAdd() {
    const div = L.DomUtil.create("div", "datum-indicator leaflet-bar");
    div.setAttribute("data-testid", "datum-indicator");
    this._div = div;
    this.update();
    return div;
  },
  update() {
    if (!this._div) return;
    clear(this._div);
    this._div.appendChild(el("span", { className: "datum-label", text: t("datum.label") + t("colon") }));
    this._div.appendChild(el("b", { className: "datum-value", text: state.datum === "gcj02" ? "GCJ-02" : "WGS-84" }));
  },
});
export function updateDatumControl() { if (ctx.datumControl) ctx.datumControl.update(); }
