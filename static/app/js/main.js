/* 科创地图 — the interactive map: sets up Leaflet, loads the catalog and its style table, wires the UI.
 *
 * ES modules on Leaflet 1.9 (vendored, a classic script). No framework, no build step.
 * Rule: data from the API never becomes HTML. Everything shown is built with the DOM
 * (createElement + textContent); Leaflet popups/tooltips get DOM nodes, never strings.
 */
import { CONFIG, PANES } from "./config.js";
import { $ } from "./dom.js";
import { I18N, t } from "./i18n.js";
import { wgsToGcj, gcjToWgs } from "./datum.js";
import { labelPoint } from "./geometry.js";
import { fetchJSON, showStatus, busy } from "./net.js";
import { state, store, ctx, isZoomed } from "./state.js";
import { setStyleTable, landFill } from "./styles.js";
import { makeGroup, ensureData, setLayerVisible, updateInteractivity, bucketOf, isViewportLayer, anyViewportLayer } from "./layers.js";
import { labelGroups, rebuildLabels } from "./labels.js";
import { select, initProfileSheet } from "./popups.js";
import { buildLayerControl } from "./control.js";
import { renderLegend } from "./legend.js";
import { buildTableSelect, setTableLayer, initTableKeys } from "./table.js";
import { renderExport, initOgcCopy } from "./export.js";
import { initPrint } from "./print.js";
import { buildBasemapControl, setBasemap, DatumControl, updateDatumControl } from "./basemaps.js";
import { initSearch } from "./search.js";
import { parseHash, applyHash, updateHash, getLastHash, setLastHash } from "./urlstate.js";
import { setLang } from "./language.js";
import { initPanel } from "./panel.js";
import { initAccount } from "./account.js";
import { initImport } from "./import.js";
import { initFilter } from "./filter.js";
import { initTimeline } from "./timeline.js";
import { initThematic } from "./thematic.js";
import { initCompare, addToCompare, openCompare, compareIds } from "./compare.js";
import { initShare, initEmbed, shareUrl } from "./share.js";

async function start() {
  I18N.apply();
  initPanel();
  ctx.map = L.map("map", { zoomControl: false, minZoom: 5, maxZoom: 18, zoomSnap: 0.5, preferCanvas: false, worldCopyJump: false });
  ctx.map.attributionControl.setPrefix("Leaflet");
  ctx.zoomControl = L.control.zoom({ position: "topright", zoomInTitle: t("zoom.in"), zoomOutTitle: t("zoom.out") }).addTo(ctx.map);
  L.control.scale({ imperial: false, position: "bottomright" }).addTo(ctx.map);
  ctx.datumControl = new DatumControl().addTo(ctx.map);
  Object.entries(PANES).forEach(([id, z]) => { const p = ctx.map.createPane("p-" + id); p.style.zIndex = String(z); });
  const land = ctx.map.createPane("p-land");
  land.style.zIndex = "399";
  land.style.pointerEvents = "none";
  ctx.landLayer = L.geoJSON(null, { pane: "p-land", interactive: false, style: () => ({ stroke: false, fillColor: landFill(), fillOpacity: 1, className: "land" }) }).addTo(ctx.map);
  const lp = ctx.map.createPane("p-labels");
  lp.style.zIndex = "620"; // labels over markers (600): names stay readable; labels take no clicks
  lp.style.pointerEvents = "none";
  labelGroups.cities.addTo(ctx.map);
  labelGroups.counties.addTo(ctx.map);
  ctx.map.setView([29.15, 120.1], 7);

  let catalog;
  // The page carries the layer catalog (the answer of /api/layers): the map starts one round trip sooner.
  try { catalog = CONFIG.catalog || await fetchJSON("/api/layers"); } catch (e) {
    showStatus(t("status.loadError", { what: "/api/layers — " + e.message }), "error");
    document.body.dataset.ready = "error";
    return;
  }
  setStyleTable(catalog && catalog.styles);
  state.layers = (catalog && catalog.layers) || [];
  state.layers.forEach((m) => { state.meta.set(m.id, m); store.set(m.id, makeGroup(m.id)); });
  if (!store.has(state.tableLayer)) state.tableLayer = state.layers.length ? state.layers[0].id : null;

  $("#version").textContent = CONFIG.version ? `v${CONFIG.version}` : "";
  buildBasemapControl();
  buildTableSelect();
  initTableKeys();
  initOgcCopy();
  initPrint();
  ctx.search = initSearch();
  initProfileSheet();
  initCompare();
  initShare();
  initImport();
  initFilter();
  initTimeline();
  initThematic();
  initAccount();
  $("#lang-toggle").addEventListener("click", () => setLang(I18N.lang === "zh" ? "en" : "zh"));

  const h = parseHash(window.location.hash);
  if (h.l === undefined) state.layers.forEach((m) => { if (m.default_visible) state.visible.add(m.id); });
  if (h.lang === "en" || h.lang === "zh") I18N.setLang(h.lang);
  I18N.apply();
  buildLayerControl();
  buildTableSelect();
  renderExport();
  updateDatumControl();

  // The map opens on the home province (浙江省) even when the boundaries cover all of China: the curated
  // layers all lie there, and a view of one province loads a few hundred counties rather than 2,875.
  const prov = state.meta.get("province");
  const bb = (catalog && catalog.home && catalog.home.bbox) || (prov && prov.bbox) || [118.0, 27.0, 123.2, 31.2];
  if (!(h.z && h.c)) ctx.map.fitBounds([[bb[1], bb[0]], [bb[3], bb[2]]], { padding: [10, 10], animate: false });

  const initialVisible = [...state.visible];
  initialVisible.forEach((id) => { const e = store.get(id); e.group.addTo(ctx.map); });
  updateInteractivity();
  renderLegend();
  try {
    await applyHash(h, true);
    await Promise.all([...state.visible].map((id) => ensureData(id).catch(() => null)));
  } catch (e) {
    showStatus(String(e && e.message), "error");
  }
  setTableLayer(state.tableLayer);
  rebuildLabels();
  buildLayerControl();
  setLang(I18N.lang);

  let lastBucket = bucketOf(ctx.map.getZoom());
  ctx.map.on("zoomend", () => {
    const b = bucketOf(ctx.map.getZoom());
    if (b !== lastBucket) {
      lastBucket = b;
      state.visible.forEach((id) => { if (isZoomed(id)) ensureData(id).catch(() => null); });
    }
    rebuildLabels();
  });
  ctx.map.on("moveend", () => {
    if (anyViewportLayer()) {  // large layers load per view, and their labels follow the view
      state.visible.forEach((id) => { if (isViewportLayer(id)) ensureData(id).catch(() => null); });
      rebuildLabels();
    }
    updateHash();
  });
  window.addEventListener("hashchange", () => {
    if (window.location.hash === getLastHash()) return;
    setLastHash(window.location.hash);
    applyHash(parseHash(window.location.hash), false);
  });

  initEmbed();
  state.ready = true;
  setLastHash(window.location.hash);
  updateHash();
  document.body.dataset.ready = "true";
}

window.kechuang = {
  get map() { return ctx.map; },
  get busy() { return busy(); },
  get cluster() { return ctx.cluster; }, // the marker-cluster group of the point site layers
  state, store, select, setLayerVisible, setBasemap, setLang, labelPoint, wgsToGcj, gcjToWgs, I18N,
  addToCompare, openCompare, compareIds, shareUrl,
};
start();
