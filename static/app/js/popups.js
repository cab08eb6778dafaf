/* Selection and popups: highlight a feature everywhere, fly to it, and show its profile (regions and sites). */
import { REGION_LAYERS_TOP_FIRST } from "./config.js";
import { el, clear, fmtValue } from "./dom.js";
import { I18N, t, pick } from "./i18n.js";
import { labelPoint, toLatLng } from "./geometry.js";
import { fetchJSON, showStatus } from "./net.js";
import { state, store, profiles, ctx, isRegions, fidOf, layerTitle } from "./state.js";
import { restyleAll } from "./styles.js";
import { ensureData, setLayerVisible, bringIntoView } from "./layers.js";
import { syncTableSelection } from "./table.js";
import { hashString, updateHash } from "./urlstate.js";
import { closeDrawerOnNarrow } from "./panel.js";

export function featureLatLng(lyr) {
  if (lyr instanceof L.Marker) return lyr.getLatLng();
  return toLatLng(labelPoint(lyr.feature.geometry)) || lyr.getBounds().getCenter();
}

export function flyToFeature(id, lyr) {
  let center, zoom;
  if (lyr instanceof L.Marker) {
    center = lyr.getLatLng();
    zoom = Math.max(ctx.map.getZoom(), 12);
  } else {
    const maxZoom = isRegions(id) ? (lyr.feature.properties.level === "city" ? 9 : 10) : 13;
    const target = ctx.map._getBoundsCenterZoom(lyr.getBounds(), { maxZoom, padding: [30, 30] });
    center = target.center;
    zoom = target.zoom;
  }
  return new Promise((resolve) => {
    let done = false, calling = true;
    const finish = () => { if (!done) { done = true; ctx.map.off("moveend", onEnd); resolve(); } };
    // Stopping a running pan (e.g. a popup's auto-pan) fires moveend synchronously inside flyTo: ignore that one.
    const onEnd = () => { if (!calling) finish(); };
    ctx.map.on("moveend", onEnd);
    setTimeout(finish, 3000);
    ctx.map.flyTo(center, zoom, { duration: 0.8 });
    calling = false;
    const c = ctx.map.getCenter();
    if (Math.abs(ctx.map.getZoom() - zoom) < 1e-6 && Math.abs(c.lat - center.lat) < 1e-7 && Math.abs(c.lng - center.lng) < 1e-7) finish();
  });
}

/**
 * Select a feature: highlight it (on every layer that shows it), open its popup, sync the table and the URL.
 * opts: fly (move the map to it), latlng (where to open the popup), popup (default true), noHash.
 */
export async function select(id, fid, opts) {
  opts = opts || {};
  fid = String(fid);
  if (!store.has(id)) return false;
  if (!state.visible.has(id)) await setLayerVisible(id, true, { silent: true });
  let entry;
  try { entry = await ensureData(id); } catch (e) { return false; }
  let lyr = entry.index.get(fid) || await bringIntoView(id, fid);
  if (!lyr) { showStatus(t("status.loadError", { what: `${layerTitle(id)}: ${fid}` }), "error"); return false; }
  const prev = state.selected;
  state.selected = { layer: id, id: fid };
  [prev && prev.layer, id].concat(REGION_LAYERS_TOP_FIRST).forEach((lid) => {
    if (lid && store.has(lid) && store.get(lid).features.length) restyleAll(lid);
  });
  syncTableSelection({ fromTable: opts.fromTable, follow: !opts.fromTable });
  if (!opts.noHash) updateHash();
  if (opts.fly) {
    await flyToFeature(id, lyr);
    lyr = store.get(id).index.get(fid) || lyr; // boundaries may have been refetched for the new zoom
  }
  if (opts.popup !== false) openPopupFor(id, fid, opts.latlng && !opts.fly ? opts.latlng : featureLatLng(lyr), { autoPan: opts.autoPan });
  return true;
}

export function clearSelection() {
  if (!state.selected) return;
  const prev = state.selected;
  state.selected = null;
  [prev.layer].concat(REGION_LAYERS_TOP_FIRST).forEach((lid) => { if (store.has(lid)) restyleAll(lid); });
  syncTableSelection();
  updateHash();
}

export function openPopupFor(id, fid, latlng, popupOpts) {
  const box = el("div", { className: "popup-profile", dataset: { testid: "popup-profile", feature: `${id}:${fid}` } });
  const size = ctx.map.getSize();
  const maxWidth = Math.max(180, Math.min(360, size.x - 70));
  const popup = L.popup({
    maxWidth, minWidth: Math.min(250, maxWidth), maxHeight: Math.max(200, Math.min(380, size.y - 110)),
    autoPanPadding: [16, 16], autoPanPaddingTopLeft: L.point(10, 16), className: "kc-popup",
    autoPan: !(popupOpts && popupOpts.autoPan === false),
  })
    .setLatLng(latlng).setContent(box);
  ctx.currentPopup = popup;
  popup.openOn(ctx.map);
  const closeBtn = popup.getElement() && popup.getElement().querySelector(".leaflet-popup-close-button");
  if (closeBtn) { closeBtn.setAttribute("aria-label", t("popup.close")); closeBtn.title = t("popup.close"); }
  if (isRegions(id)) fillRegionProfile(box, id, fid, popup);
  else fillSiteProfile(box, id, store.get(id).index.get(fid).feature);
}

function sourceLine(src) {
  if (!src) return null;
  return el("p", { className: "source" }, el("span", { className: "source-label", text: t("popup.source") + t("colon") }), String(src));
}
function featureLink(layerId, fid, label, extraClass) {
  const a = el("a", {
    className: "feature-link" + (extraClass ? " " + extraClass : ""), text: label,
    attrs: { href: "#" + hashString({ s: `${layerId}:${fid}` }) },
    dataset: { layer: layerId, fid: String(fid), testid: "feature-link" },
  });
  a.addEventListener("click", (e) => { e.preventDefault(); select(layerId, fid, { fly: true }); closeDrawerOnNarrow(); });
  return a;
}
function section(title, ...children) {
  return el("section", { className: "pp-section" }, el("h4", { text: title }), ...children);
}
function figureTable(rows) {
  const tbody = el("tbody");
  rows.forEach((f) => {
    const value = fmtValue(f.value) + (f.unit ? " " + f.unit : "");
    const meta = [f.year ? String(f.year) : null, f.source ? String(f.source) : null].filter(Boolean).join(" · ");
    tbody.appendChild(el("tr", {},
      el("th", { text: pick(f, "label"), attrs: { scope: "row" } }),
      el("td", {}, el("span", { className: "fig-value", text: value }), meta ? el("span", { className: "fig-meta", text: meta }) : null)));
  });
  return el("table", { className: "figures" }, tbody);
}

async function fillRegionProfile(box, id, adcode, popup) {
  const f = store.get(id).index.get(adcode).feature;
  const p = f.properties || {};
  box.appendChild(el("h3", { text: pick(p, "name") }));
  const loading = el("p", { className: "loading", text: t("popup.loading") });
  box.appendChild(loading);
  let prof = profiles.get(adcode);
  if (!prof) {
    try { prof = await fetchJSON(`/api/regions/${encodeURIComponent(adcode)}`); profiles.set(adcode, prof); } catch (e) {
      loading.textContent = t("popup.error") + t("colon") + e.message;
      loading.className = "error";
      return;
    }
  }
  if (ctx.currentPopup !== popup) return;
  clear(box);
  renderRegionProfile(box, prof, id);
  popup.update();
}

function renderRegionProfile(box, prof, id) {
  const isPilot = (prof.designations || []).length > 0 || id === "pilot-counties";
  const head = el("header", { className: "pp-head" });
  head.appendChild(el("h3", { text: pick(prof, "name") }));
  const meta = [t("level." + prof.level)];
  if (prof.level === "county" && prof.city) meta.push(pick(prof, "city"));
  const metaP = el("p", { className: "pp-meta", text: meta.join(" · ") });
  if (isPilot && (prof.designations || []).length) metaP.appendChild(el("span", { className: "badge pilot", text: t("popup.pilot") }));
  head.appendChild(metaP);
  box.appendChild(head);

  const des = prof.designations || [];
  box.appendChild(section(t("popup.designations"), des.length
    ? el("ul", { className: "designations" }, des.map((d) => el("li", { className: "designation" },
      el("span", { className: "programme", text: pick(d, "programme") }),
      d.year ? el("span", { className: "year", text: ` (${d.year})` }) : null,
      d.source ? el("span", { className: "fig-meta", text: t("popup.source") + t("colon") + d.source }) : null)))
    : el("p", { className: "muted", text: t("popup.noDesignation") })));

  if ((prof.figures || []).length) box.appendChild(section(t("popup.figures"), figureTable(prof.figures)));
  if ((prof.facts || []).length) box.appendChild(section(t("popup.facts"), figureTable(prof.facts)));
  const summary = pick(prof, "summary");
  if (summary) box.appendChild(section(t("popup.summary"), el("p", { className: "summary", text: summary }), sourceLine(prof.summary_source)));

  const sites = prof.sites || {};
  const siteLists = Object.keys(sites).filter((k) => Array.isArray(sites[k]) && sites[k].length);
  if (siteLists.length) {
    box.appendChild(section(t("popup.sites"), siteLists.map((lid) => el("div", { className: "site-group" },
      el("h5", { text: layerTitle(lid) }),
      el("ul", { className: "site-links" }, sites[lid].map((s) => el("li", {},
        store.has(lid) ? featureLink(lid, s.id, siteName(lid, s)) : el("span", { text: siteName(lid, s) }),
        s.kind ? el("span", { className: "fig-meta", text: t("kind." + s.kind) }) : null)))))));
  }
  if (prof.level === "city" && (prof.counties || []).length) {
    box.appendChild(section(t("popup.counties"), el("ul", { className: "county-links" }, prof.counties.map((c) =>
      el("li", {}, featureLink(c.pilot && store.has("pilot-counties") && state.visible.has("pilot-counties") ? "pilot-counties" : "counties", c.adcode, pick(c, "name")),
        c.pilot ? el("span", { className: "badge pilot", text: t("popup.pilot") }) : null)))));
  }
  if (prof.level === "county" && prof.city_adcode && store.has("cities")) {
    box.appendChild(el("p", { className: "pp-foot" }, featureLink("cities", prof.city_adcode, `${t("popup.openCity")}${t("colon")}${pick(prof, "city")}`)));
  }
}

function fillSiteProfile(box, id, f) {
  const p = f.properties || {};
  const head = el("header", { className: "pp-head" });
  head.appendChild(el("h3", { text: pick(p, "name") || p.name }));
  const other = I18N.lang === "en" ? p.name : p.name_en;
  if (other && other !== pick(p, "name")) head.appendChild(el("p", { className: "pp-alt", text: other }));
  const meta = [t("kind." + (p.kind || "other"))];
  if (p.role) meta.push(t("role." + p.role));
  const where = [p.county, p.city].filter(Boolean).join(I18N.lang === "en" ? ", " : "，");
  if (where) meta.push(where);
  const metaP = el("p", { className: "pp-meta", text: meta.join(" · ") });
  if (p.schematic) metaP.appendChild(el("span", { className: "badge schematic", text: t("popup.schematic") }));
  head.appendChild(metaP);
  box.appendChild(head);

  if (p.parent) {
    const parentLayer = findLayerOf(p.parent) || "science-cities";
    const parentName = nameOf(parentLayer, p.parent) || p.parent;
    box.appendChild(el("p", { className: "pp-parent" }, el("span", { text: t("popup.parent") + t("colon") }), featureLink(parentLayer, p.parent, parentName)));
  }
  const d = p.designation;
  if (d && (d.programme || d.programme_en)) {
    box.appendChild(section(t("popup.designation"), el("p", { className: "designation" },
      el("span", { className: "programme", text: pick(d, "programme") }),
      d.year ? el("span", { className: "year", text: ` (${d.year})` }) : null,
      d.source ? el("span", { className: "fig-meta", text: t("popup.source") + t("colon") + d.source }) : null)));
  }
  const summary = pick(p, "summary");
  if (summary) box.appendChild(section(t("popup.summary"), el("p", { className: "summary", text: summary })));
  if (Array.isArray(p.facts) && p.facts.length) box.appendChild(section(t("popup.facts"), figureTable(p.facts)));

  // A science city lists the zones of its layout (loaded on demand, not shown on the map unless toggled).
  if (id === "science-cities" && store.has("science-city-zones")) {
    const holder = el("div");
    box.appendChild(holder);
    ensureData("science-city-zones").then((e) => {
      const zones = e.features.filter((z) => z.properties && z.properties.parent === fidOf(f))
        .sort((a, b) => (a.properties.order || 0) - (b.properties.order || 0));
      if (!zones.length) return;
      holder.appendChild(section(t("popup.layout"), el("ul", { className: "site-links" }, zones.map((z) => el("li", {},
        featureLink("science-city-zones", fidOf(z), pick(z.properties, "name")),
        z.properties.role ? el("span", { className: "fig-meta", text: t("role." + z.properties.role) }) : null)))));
      if (ctx.currentPopup) ctx.currentPopup.update();
    }).catch(() => {});
  }

  const loc = [];
  if (p.precision) loc.push(el("p", {}, el("span", { className: "source-label", text: t("popup.precision") + t("colon") }), t("precision." + p.precision)));
  if (p.location_note) loc.push(el("p", { className: "muted", text: p.location_note }));
  if (p.schematic) loc.push(el("p", { className: "muted", text: t("popup.schematic.note") }));
  if (p.county_adcode && store.has("counties")) {
    loc.push(el("p", {}, el("span", { className: "source-label", text: t("popup.county") + t("colon") }),
      featureLink("counties", p.county_adcode, p.county || p.county_adcode)));
  }
  if (loc.length) box.appendChild(section(t("popup.location"), loc));
  const src = sourceLine(p.source);
  if (src) box.appendChild(src);
}

/** Display name of a site listed in a profile (in the chosen language). */
function siteName(lid, s) {
  return nameOf(lid, s.id) || pick(s, "name") || s.id;
}
function findLayerOf(fid) {
  for (const [lid, e] of store) if (!isRegions(lid) && e.index.has(String(fid))) return lid;
  return null;
}
function nameOf(lid, fid) {
  const e = store.get(lid);
  const l = e && e.index.get(String(fid));
  return l ? pick(l.feature.properties, "name") : null;
}
