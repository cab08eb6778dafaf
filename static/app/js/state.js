/* The map's shared state: the catalog, what is visible and selected, loaded layer data, Leaflet objects. */
import { pick } from "./i18n.js";

export const state = {
  layers: [],               // catalog from /api/layers, in catalog order
  meta: new Map(),          // id -> layer meta
  visible: new Set(),
  datum: "wgs84",
  basemap: "none",
  selected: null,           // {layer, id}
  tableLayer: "pilot-counties",
  asOf: null,               // the year the map is shown as of (timeline.js); null: all years
  ready: false,
};
export const store = new Map();    // id -> {group: L.GeoJSON, index: Map(fid -> leaflet layer), features, key, cache, pending}
export const profiles = new Map(); // adcode -> profile JSON
/** Leaflet objects and other single things set up at start: map, tileLayer, landLayer, currentPopup, controls. */
export const ctx = {
  map: null, tileLayer: null, landLayer: null, currentPopup: null, datumControl: null, zoomControl: null,
  search: null,
};

export const isRegions = (id) => (state.meta.get(id) || {}).kind === "regions";
/** Layers fetched simplified per zoom bucket: boundaries, and user layers of polygons (region lists). */
export const isZoomed = (id) => {
  const m = state.meta.get(id) || {};
  return m.kind === "regions" || (m.kind === "user" && /Polygon/.test(m.geometry_type || ""));
};
export const fidOf = (f) => String(f.id !== undefined && f.id !== null ? f.id
  : (f.properties && (f.properties.id || f.properties.adcode)));
export const layerTitle = (id) => { const m = state.meta.get(id); return m ? pick(m, "title") : id; };
