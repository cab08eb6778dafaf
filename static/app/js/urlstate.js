/* URL state: the view, layers, base map, list, language and selection kept in the location hash. */
import { I18N } from "./i18n.js";
import { state, store, ctx } from "./state.js";
import { setLayerVisible } from "./layers.js";
import { select, clearSelection, closeProfile } from "./popups.js";
import { setTableLayer } from "./table.js";
import { setBasemap } from "./basemaps.js";
import { setLang } from "./language.js";

let lastHash = null;
/* Other features keep their own state in the permalink through this registry, so this file need not know them:
   get() gives the part's value (a string) or null when the feature is off; apply(value, initial) restores it
   (value undefined when the link has no such part). */
const extraParts = [];
export function registerHashPart(key, get, apply) { extraParts.push({ key, get, apply }); }
export const getLastHash = () => lastHash;
export function setLastHash(h) { lastHash = h; }
export function hashString(over) {
  const c = ctx.map.getCenter();
  const parts = {
    z: String(Math.round(ctx.map.getZoom() * 100) / 100),
    c: `${c.lat.toFixed(5)},${c.lng.toFixed(5)}`,
    l: state.layers.filter((m) => state.visible.has(m.id)).map((m) => m.id).join(","),
  };
  if (state.selected) parts.s = `${state.selected.layer}:${state.selected.id}`;
  if (state.basemap !== "none") parts.b = state.basemap;
  if (state.tableLayer !== "pilot-counties") parts.t = state.tableLayer;
  if (I18N.lang !== "zh") parts.lang = I18N.lang;
  extraParts.forEach(({ key, get }) => { const v = get(); if (v !== null && v !== undefined && v !== "") parts[key] = v; });
  Object.assign(parts, over || {});
  return Object.entries(parts).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ",").replace(/%3A/g, ":")}`).join("&");
}
export function updateHash() {
  if (!state.ready) return;
  const h = "#" + hashString();
  if (h !== window.location.hash) {
    lastHash = h;
    window.history.replaceState(null, "", h);
  }
}
export function parseHash(h) {
  const out = {};
  (h || "").replace(/^#/, "").split("&").forEach((kv) => {
    if (!kv) return;
    const i = kv.indexOf("=");
    const k = i < 0 ? kv : kv.slice(0, i);
    let v = i < 0 ? "" : kv.slice(i + 1);
    try { v = decodeURIComponent(v); } catch (e) { /* keep raw */ }
    out[k] = v;
  });
  return out;
}

/** Apply a parsed hash: view, layers, base map, table layer, language, selection. */
export async function applyHash(h, initial) {
  const known = (id) => store.has(id);
  const z = parseFloat(h.z);
  const c = (h.c || "").split(",").map(parseFloat);
  const hasView = Number.isFinite(z) && c.length === 2 && c.every(Number.isFinite) && Math.abs(c[0]) <= 90 && Math.abs(c[1]) <= 180;
  if (h.lang && (h.lang === "en" || h.lang === "zh") && h.lang !== I18N.lang) setLang(h.lang);
  if (h.b !== undefined || !initial) await setBasemap(h.b || "none", { silent: true, keepView: true });
  if (hasView) ctx.map.setView([c[0], c[1]], Math.max(0, Math.min(18, z)), { animate: false });
  if (h.l !== undefined) {
    const want = new Set(h.l.split(",").filter(known));
    state.layers.forEach((m) => { if (state.visible.has(m.id) && !want.has(m.id)) setLayerVisible(m.id, false, { silent: true }); });
    await Promise.all([...want].map((id) => setLayerVisible(id, true, { silent: true })));
  }
  if (h.t && known(h.t) && h.t !== state.tableLayer) setTableLayer(h.t);
  if (h.s) {
    const i = h.s.indexOf(":");
    const lid = i > 0 ? h.s.slice(0, i) : "";
    const fid = i > 0 ? h.s.slice(i + 1) : "";
    // A restored view stays exactly as it was: no panning for the restored profile, and focus stays put.
    if (known(lid) && fid) await select(lid, fid, { fly: !hasView, noHash: true, autoPan: !hasView, focus: !initial });
  } else if (!initial) {
    closeProfile({ restoreFocus: false });
    clearSelection();
  }
  // A first load whose link has no such part has nothing to restore: the page does not wait for it.
  for (const { key, apply } of extraParts) if (!(initial && h[key] === undefined)) await apply(h[key], initial);
  return hasView;
}
