/* Layer data: one Leaflet GeoJSON group per catalog layer, fetched per datum and zoom bucket, shown or hidden. */
import { PANES } from "./config.js";
import { el, cssId } from "./dom.js";
import { t, pick } from "./i18n.js";
import { state, store, ctx, isRegions, isZoomed, fidOf, layerTitle } from "./state.js";
import { fetchJSON, showStatus } from "./net.js";
import { styleFor, siteIcon, isSelected, restyleAll, clusterRules, clusterIcon, roleStyle } from "./styles.js";
import { rebuildLabels } from "./labels.js";
import { select } from "./popups.js";
import { renderLegend } from "./legend.js";
import { renderTable } from "./table.js";
import { updateHash } from "./urlstate.js";

/** Boundaries are fetched simplified for a few zoom levels only (the server simplifies for `zoom`). */
export function zoomBucket(z) { return z < 8 ? 7 : z < 10 ? 9 : 11; }
function dataKey(id) {
  const key = isZoomed(id) ? `${state.datum}|z${zoomBucket(ctx.map.getZoom())}` : state.datum;
  return state.asOf === null ? key : `${key}|y${state.asOf}`;
}

/** The one marker-cluster group all point site layers share, so co-located sites of different layers
 * cluster together (counts and the layers' symbols); at the highest zoom a click spreads them out. */
export function clusterGroup() {
  if (ctx.cluster) return ctx.cluster;
  const c = clusterRules();
  ctx.cluster = L.markerClusterGroup({
    maxClusterRadius: c.radius_px, spiderfyOnMaxZoom: true, showCoverageOnHover: false, zoomToBoundsOnClick: true,
    spiderfyDistanceMultiplier: c.spread, disableClusteringAtZoom: c.max_zoom + 1, iconCreateFunction: clusterIcon,
    removeOutsideVisibleBounds: false,
  });
  ctx.cluster.addTo(ctx.map);
  return ctx.cluster;
}

/** A GeoJSON group whose markers live in the shared cluster group while the layer is on the map. */
const ClusteredGeoJSON = L.GeoJSON.extend({
  onAdd() { clusterGroup().addLayers(this.getLayers()); },
  onRemove() { clusterGroup().removeLayers(this.getLayers()); },
  /* A whole answer goes into the cluster group in one bulk call: one by one, 3,000 markers take seconds. */
  addData(geojson) {
    if (this._bulk) return L.GeoJSON.prototype.addData.call(this, geojson); // a feature of the collection
    this._bulk = [];
    try { L.GeoJSON.prototype.addData.call(this, geojson); } finally {
      const bulk = this._bulk;
      this._bulk = null;
      if (this._map && bulk.length) clusterGroup().addLayers(bulk);
    }
    return this;
  },
  addLayer(layer) {
    if (this.hasLayer(layer)) return this;
    layer.addEventParent(this);
    this._layers[this.getLayerId(layer)] = layer;
    if (this._map) { if (this._bulk) this._bulk.push(layer); else clusterGroup().addLayer(layer); }
    return this.fire("layeradd", { layer });
  },
  removeLayer(layer) {
    const l = layer in this._layers ? this._layers[layer] : this._layers[this.getLayerId(layer)];
    if (!l) return this;
    if (this._map) clusterGroup().removeLayer(l);
    l.removeEventParent(this);
    delete this._layers[this.getLayerId(l)];
    return this.fire("layerremove", { layer: l });
  },
  clearLayers() {
    const all = this.getLayers();
    if (this._map) clusterGroup().removeLayers(all);
    all.forEach((l) => { l.removeEventParent(this); delete this._layers[this.getLayerId(l)]; });
    return this;
  },
});

/** The reference layer (sea, lakes) sits in its own pane, above the land and county fill, under every other layer. */
function referencePane() {
  const name = "p-reference";
  if (!ctx.map.getPane(name)) {
    const p = ctx.map.createPane(name);
    p.style.zIndex = "403";
    p.style.pointerEvents = "none";
  }
  return name;
}

export function makeGroup(id) {
  const meta = state.meta.get(id);
  let pane = PANES[id] ? "p-" + id : meta && meta.kind === "user" ? "p-user" : undefined; // user layers over the built-in regions
  const opts = {
    style: (f) => styleFor(id, f, { selected: isSelected(id, fidOf(f)) }),
    pointToLayer: (f, latlng) => L.marker(latlng, {
      icon: siteIcon(id, f, isSelected(id, fidOf(f))), keyboard: true, riseOnHover: true, layerId: id,
    }),
    onEachFeature: (f, lyr) => bindFeature(id, f, lyr),
  };
  if (meta && meta.kind === "reference") { pane = referencePane(); opts.interactive = false; }
  if (pane) opts.pane = pane;
  if (id === "province") opts.interactive = false;
  // Point layers, built-in or imported (a list of 3,000 firms), go into the shared cluster group.
  const clustered = meta && (meta.kind === "sites" || meta.kind === "user") && /^(Multi)?Point$/.test(meta.geometry_type || "");
  const group = clustered ? new ClusteredGeoJSON(null, opts) : L.geoJSON(null, opts);
  return { group, index: new Map(), features: [], key: null, cache: new Map(), pending: null, pendingKey: null, meta };
}

function bindFeature(id, f, lyr) {
  const fid = fidOf(f);
  const entry = store.get(id);
  entry.index.set(fid, lyr);
  if (!(lyr instanceof L.Marker) && lyr.options) {
    lyr.options.className = `kc-feature lyr-${id} fid-${cssId(fid)}` + (f.properties && f.properties.schematic ? " schematic" : "")
      + (f.properties && f.properties.role ? ` role-${cssId(f.properties.role)}` : "")
      + (f.properties && f.properties.year_known === false ? " undated" : "");
  }
  if (id === "province" || (entry.meta && entry.meta.kind === "reference")) return;
  lyr.bindTooltip(() => tooltipContent(id, f), { sticky: !(lyr instanceof L.Marker), direction: "top", className: "kc-tooltip", opacity: 0.95 });
  lyr.on("mouseover", () => { if (!(lyr instanceof L.Marker)) lyr.setStyle(styleFor(id, f, { hover: true, selected: isSelected(id, fid) })); });
  lyr.on("mouseout", () => { if (!(lyr instanceof L.Marker)) lyr.setStyle(styleFor(id, f, { selected: isSelected(id, fid) })); });
  lyr.on("click", (e) => {
    if (e.originalEvent) L.DomEvent.stopPropagation(e);
    select(id, fid, { latlng: lyr instanceof L.Marker ? lyr.getLatLng() : e.latlng });
  });
  lyr.on("keypress", (e) => {
    const k = e.originalEvent && e.originalEvent.key;
    if (k === "Enter" || k === " ") select(id, fid, {});
  });
}

function tooltipContent(id, f) {
  const p = f.properties || {};
  const box = el("div", { className: "tt" });
  box.appendChild(el("strong", { text: pick(p, "name") || p.name || fidOf(f) }));
  const bits = [];
  if (isRegions(id)) {
    if (p.level === "county" && p.city) bits.push(pick(p, "city"));
    if (id === "pilot-counties" || p.pilot) bits.push(t("popup.pilot"));
  } else {
    if (p.kind) bits.push(t("kind." + p.kind));
    if (p.role) bits.push(t("role." + p.role));
    if (p.schematic) bits.push(t("popup.schematic"));
  }
  if (bits.length) box.appendChild(el("span", { className: "tt-meta", text: bits.join(" · ") }));
  return box;
}

function setData(id, fc) {
  const entry = store.get(id);
  entry.group.clearLayers();
  entry.index.clear();
  entry.features = (fc && Array.isArray(fc.features)) ? fc.features : [];
  entry.group.addData({ type: "FeatureCollection", features: id === "science-city-zones" ? frontLast(entry.features) : entry.features });
  if (id === "cities" || id === "counties" || id === "pilot-counties" || id === "science-city-zones") rebuildLabels();
  if (id === "province" && ctx.landLayer) { ctx.landLayer.clearLayers(); ctx.landLayer.addData({ type: "FeatureCollection", features: entry.features }); }
  if (state.selected) restyleAll(id);
}

/** Zones whose role the style table marks `front` (the core) are added last, so they are drawn over the others. */
function frontLast(features) {
  const front = (f) => (roleStyle(f.properties && f.properties.role) || {}).front ? 1 : 0;
  return features.map((f, i) => [f, i]).sort((a, b) => front(a[0]) - front(b[0]) || a[1] - b[1]).map((x) => x[0]);
}

/** Fetch (once per datum and zoom bucket) and install a layer's data; resolves to its store entry. */
export function ensureData(id) {
  const entry = store.get(id);
  if (!entry) return Promise.reject(new Error("unknown layer " + id));
  const key = dataKey(id);
  if (entry.key === key) return Promise.resolve(entry);
  if (entry.cache.has(key)) { setData(id, entry.cache.get(key)); entry.key = key; return Promise.resolve(entry); }
  if (entry.pending && entry.pendingKey === key) return entry.pending;
  const params = new URLSearchParams();
  if (isZoomed(id)) params.set("zoom", String(zoomBucket(ctx.map.getZoom())));
  params.set("datum", state.datum);
  if (state.asOf !== null) params.set("as_of", String(state.asOf));
  setLayerBusy(id, true);
  entry.pendingKey = key;
  const p = fetchJSON(`/api/layers/${encodeURIComponent(id)}?${params}`).then((fc) => {
    entry.cache.set(key, fc);
    if (entry.pendingKey === key) {
      setData(id, fc);
      entry.key = key;
      entry.pending = null; entry.pendingKey = null;
    }
    setLayerBusy(id, false);
    renderLegend();
    if (state.tableLayer === id && !entry.tableShown) renderTable();
    return entry;
  }, (err) => {
    entry.pending = null; entry.pendingKey = null;
    setLayerBusy(id, false, true);
    showStatus(t("status.loadError", { what: layerTitle(id) + " — " + err.message }), "error");
    throw err;
  });
  entry.pending = p;
  return p;
}

export async function setLayerVisible(id, on, opts) {
  if (!store.has(id)) return;
  const entry = store.get(id);
  const map = ctx.map;
  const cb = document.getElementById("lt-" + id);
  if (cb) cb.checked = !!on;
  if (on) {
    state.visible.add(id);
    if (!map.hasLayer(entry.group)) entry.group.addTo(map);
    updateInteractivity();
    rebuildLabels();
    renderLegend();
    if (!(opts && opts.silent)) updateHash();
    try { await ensureData(id); } catch (e) { /* reported */ }
  } else {
    state.visible.delete(id);
    if (map.hasLayer(entry.group)) map.removeLayer(entry.group);
    updateInteractivity();
    rebuildLabels();
    renderLegend();
    if (!(opts && opts.silent)) updateHash();
  }
}

/** City outlines take clicks only when no county layer is there to take them. */
export function updateInteractivity() {
  const countiesShown = state.visible.has("counties") || state.visible.has("pilot-counties");
  const pane = ctx.map.getPane("p-cities");
  if (pane) pane.classList.toggle("no-events", countiesShown);
}

export function setLayerBusy(id, busy, failed) {
  const row = document.querySelector(`.layer-row[data-layer="${id}"]`);
  if (!row) return;
  row.classList.toggle("busy", !!busy);
  row.classList.toggle("failed", !!failed);
}
