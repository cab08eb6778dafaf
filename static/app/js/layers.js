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

/* Large region layers (all of China's 2,875 counties) are not fetched whole: they load per view — the view's
 * bounds padded and snapped outward to a grid, so panning within it asks nothing and the server can keep the
 * answers — only from VIEWPORT_MIN_ZOOM on, and are drawn on a canvas. Small layers (Zhejiang's 90 counties)
 * load whole as before. Answers are clipped to the bbox. With a large layer loaded, each zoom level has its own
 * simplification (5 … 11). */
export const LARGE_LAYER = 400;      // a region layer this big (all of China's counties) switches loading per view on
const VIEWPORT_MIN_FEATURES = 30;   // … for every region layer above this (China's 34 provinces, 370 cities)
export const VIEWPORT_MIN_ZOOM = 7;  // for layers of more than VIEWPORT_MANY features (counties): none below it
const VIEWPORT_MANY = 1000;
const VIEWPORT_PAD = 0.25;  // of the view's size, on each side
const VIEWPORT_CACHE = 16;  // answers kept per layer
const countOf = (id) => (state.meta.get(id) || {}).count || 0;
/* (all of China: province 34 and cities 370 load per view too — whole, they are 0.6 and 1.4 MB gzip at zoom 7) */
export const anyViewportLayer = () => state.layers.some((m) => m.kind === "regions" && (m.count || 0) > LARGE_LAYER);
export const isViewportLayer = (id) => isRegions(id) && countOf(id) > VIEWPORT_MIN_FEATURES && anyViewportLayer();
export function bucketOf(z) { return anyViewportLayer() ? Math.max(5, Math.min(11, Math.floor(z))) : zoomBucket(z); }

function snappedBounds(bucket) {
  const v = ctx.map.getBounds().pad(VIEWPORT_PAD);
  const cell = 360 / 2 ** (bucket + 1);
  const down = (x) => Math.floor(x / cell) * cell, up = (x) => Math.ceil(x / cell) * cell;
  const r = (x) => Math.round(x * 1e6) / 1e6;
  return [Math.max(-180, r(down(v.getWest()))), Math.max(-90, r(down(v.getSouth()))),
    Math.min(180, r(up(v.getEast()))), Math.min(90, r(up(v.getNorth())))];
}

/** What a layer should show now: {key, params}; for a viewport layer the current data if it covers the view. */
function wanted(id) {
  const z = ctx.map.getZoom();
  const year = state.asOf === null ? "" : `|y${state.asOf}`; // a map as of a year has its own answers
  if (!isZoomed(id)) return { key: state.datum + year, params: { datum: state.datum } };
  const bucket = bucketOf(z);
  const geomKey = `${state.datum}|z${bucket}${year}`;
  if (!isViewportLayer(id)) return { key: geomKey, params: { zoom: bucket, datum: state.datum } };
  if (z < VIEWPORT_MIN_ZOOM && countOf(id) > VIEWPORT_MANY) return { key: `${state.datum}|off`, off: true };
  const entry = store.get(id);
  const shown = entry.view;
  if (shown && shown.geomKey === geomKey && shown.bounds.contains(ctx.map.getBounds())) return { key: entry.key };
  const bbox = snappedBounds(bucket);
  return { key: `${geomKey}|${bbox.join(",")}`, geomKey, bbox, params: { zoom: bucket, datum: state.datum, bbox: bbox.join(","), clip: "1" } };
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
  if (isViewportLayer(id)) {
    opts.renderer = L.canvas({ pane: pane || "overlayPane", padding: 0.3 });
    // a canvas takes every click on its pane: the province outline (not interactive) lets them through
    if (id === "province" && pane) ctx.map.getPane(pane).classList.add("no-events");
  }
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

function setData(id, fc, w) {
  const entry = store.get(id);
  const features = (fc && Array.isArray(fc.features)) ? fc.features : [];
  entry.group.clearLayers();
  entry.index.clear();
  entry.features = features;
  entry.group.addData({ type: "FeatureCollection", features: id === "science-city-zones" ? frontLast(entry.features) : entry.features });
  entry.view = w && w.bbox ? { geomKey: w.geomKey, bounds: L.latLngBounds([w.bbox[1], w.bbox[0]], [w.bbox[3], w.bbox[2]]) } : null;
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
  const w = wanted(id);
  const key = w.key;
  if (entry.key === key) return Promise.resolve(entry);
  if (w.off) { entry.pendingKey = null; setData(id, { features: [] }); entry.key = key; return Promise.resolve(entry); }
  if (entry.cache.has(key)) { setData(id, entry.cache.get(key), w); entry.key = key; return Promise.resolve(entry); }
  if (entry.pending && entry.pendingKey === key) return entry.pending;
  const params = new URLSearchParams();
  if (w.params.zoom !== undefined) params.set("zoom", String(w.params.zoom));
  params.set("datum", w.params.datum);
  if (w.params.bbox) { params.set("bbox", w.params.bbox); params.set("clip", w.params.clip); }
  if (state.asOf !== null) params.set("as_of", String(state.asOf));
  setLayerBusy(id, true);
  entry.pendingKey = key;
  const p = fetchJSON(`/api/layers/${encodeURIComponent(id)}?${params}`).then((fc) => {
    entry.cache.set(key, fc);
    if (w.bbox && entry.cache.size > VIEWPORT_CACHE) entry.cache.delete(entry.cache.keys().next().value);
    if (entry.pendingKey === key) {
      setData(id, fc, w);
      entry.key = key;
      entry.pending = null; entry.pendingKey = null;
    }
    setLayerBusy(id, false);
    renderLegend();
    if (state.tableLayer === id && !entry.tableShown) renderTable();
    return entry;
  }, (err) => {
    if (entry.pendingKey === key) { entry.pending = null; entry.pendingKey = null; }
    setLayerBusy(id, false, true);
    showStatus(t("status.loadError", { what: layerTitle(id) + " — " + err.message }), "error");
    throw err;
  });
  entry.pending = p;
  return p;
}

/** A feature of a layer loaded per view that is not in the view (a search result, a permalink): move the map
 * to the region's bbox (from its profile), load that view, and return the feature's Leaflet layer (or null). */
export async function bringIntoView(id, fid) {
  if (!isViewportLayer(id)) return null;
  let profile;
  try { profile = await fetchJSON(`/api/regions/${encodeURIComponent(fid)}`); } catch (e) { return null; }
  if (!profile || !Array.isArray(profile.bbox)) return null;
  const [w, s, e, n] = profile.bbox;
  ctx.map.fitBounds([[s, w], [n, e]], { maxZoom: 10, padding: [30, 30], animate: false });
  if (ctx.map.getZoom() < VIEWPORT_MIN_ZOOM) ctx.map.setZoom(VIEWPORT_MIN_ZOOM, { animate: false });
  try { await ensureData(id); } catch (err) { return null; }
  return store.get(id).index.get(fid) || null;
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
