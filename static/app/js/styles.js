/* Drawing styles from the server's one style table (/api/layers `styles`): paths, symbols, icons. */
import { el, safeColor, safeDash, cssId } from "./dom.js";
import { state, store, isRegions, fidOf } from "./state.js";
import { I18N, t, pick } from "./i18n.js";

const NEUTRAL = "#555555"; // used only when the table says nothing
const SVG_NS = "http://www.w3.org/2000/svg";
let TABLE = { layers: {}, kinds: {}, roles: {}, symbols: {}, labels: {}, states: {}, reference: {} };

/** Install the style table served with /api/layers. */
export function setStyleTable(table) {
  if (table && typeof table === "object") TABLE = Object.assign({ layers: {}, kinds: {}, roles: {}, symbols: {}, labels: {}, states: {}, reference: {} }, table);
}
export const styleTable = () => TABLE;
/* Another feature may restyle features (the thematic map): fn(id, feature) gives path options to lay over the
   layer's own, or null. One at a time; setFeatureStyle(null) restores the table's styles. */
let featureStyle = null;
export function setFeatureStyle(fn) { featureStyle = typeof fn === "function" ? fn : null; }
const states = () => TABLE.states || {};
export function layerStyle(id) {
  return TABLE.layers[id] || ((state.meta.get(id) || {}).style) || {};
}
/** Zoom from which a label group (cities, counties) is shown. */
export function labelMinZoom(group) {
  const l = (TABLE.labels || {})[group];
  return l && Number.isFinite(l.min_zoom) ? l.min_zoom : Infinity;
}
/** A label group's rules (min_zoom, field, …) from the table; {} when it has none. */
export const labelRules = (group) => (TABLE.labels || {})[group] || {};
/** The style of a layout zone's role (roles.core, roles.zone, …), or null. */
export const roleStyle = (role) => (role && TABLE.roles[role]) || null;
/** Clustering of point markers: radius in pixels, the zoom up to which markers cluster, spiderfy spread. */
export function clusterRules() {
  const c = states().cluster || {};
  const biggest = Math.max(19, ...Object.values(TABLE.kinds || {}).map((k) => k.size || 0));
  return {
    radius_px: Number.isFinite(c.radius_px) ? c.radius_px : Math.ceil(biggest * Math.SQRT2) + 2,
    max_zoom: Number.isFinite(c.max_zoom) ? c.max_zoom : 18,
    spread: Number.isFinite(c.spread) ? c.spread : 1.4,
    size: Number.isFinite(c.size) ? c.size : 34,
  };
}
export const landFill = () => safeColor((states().land || {}).fill, "#ffffff");

function svgEl(tag, attrs, parent) {
  const n = document.createElementNS(SVG_NS, tag);
  Object.entries(attrs).forEach(([k, v]) => n.setAttribute(k, v));
  if (parent) parent.appendChild(n);
  return n;
}
export function kindStyle(kind) {
  return TABLE.kinds[kind] || TABLE.kinds.other || { symbol: "circle", hollow: false, size: 19 };
}
export function symbolSvg(kind, color, size) {
  const k = kindStyle(kind);
  const shape = TABLE.symbols[k.symbol] ? k.symbol : "circle";
  const def = TABLE.symbols[shape] || { svg: "circle", attrs: { cx: 10, cy: 10, r: 6.5 } };
  const svg = svgEl("svg", { viewBox: "0 0 20 20", width: size, height: size, "aria-hidden": "true", class: "sym sym-" + shape });
  const node = svgEl(["circle", "rect", "polygon"].includes(def.svg) ? def.svg : "circle", def.attrs || {}, svg);
  const stroke = states().symbol_stroke || {};
  const outline = safeColor(stroke.outline, "#ffffff");
  node.setAttribute("fill", k.hollow ? outline : color);
  node.setAttribute("stroke", k.hollow ? color : outline);
  node.setAttribute("stroke-width", String(k.hollow ? (stroke.hollow_width || 3) : (stroke.solid_width || 1.6)));
  node.setAttribute("stroke-linejoin", "round");
  return svg;
}
export function layerColor(id, fallback) {
  return safeColor(layerStyle(id).color, fallback || NEUTRAL);
}

function withStates(s, flags, fillMax) {
  const st = states();
  if (flags && flags.hover) {
    const h = st.hover || {};
    s.weight = (s.weight || 1) + (h.weight_add || 0);
    if (s.fill !== false && s.fillOpacity) s.fillOpacity = Math.min(fillMax, s.fillOpacity + (h.fill_opacity_add || 0));
  }
  if (flags && flags.selected) {
    const sel = st.selected || {};
    s.color = safeColor(sel.color, s.color);
    s.weight = (s.weight || 1) + (sel.weight_add || 0);
    s.opacity = 1;
  }
  return s;
}

/** Leaflet path options for a feature of layer `id`; flags: {hover, selected}. */
export function styleFor(id, feature, flags) {
  const p = (feature && feature.properties) || {};
  const st = layerStyle(id);
  const fb = states().fallback || {};
  const color = safeColor(st.color, safeColor(fb.color, NEUTRAL));
  let s;
  if ((state.meta.get(id) || {}).kind === "reference") {
    const r = (TABLE.reference || {})[p.kind] || st;
    s = { color: safeColor(r.color, color), weight: r.weight || 0.8, opacity: st.opacity !== undefined ? st.opacity : 1,
      fill: !!r.fill, fillColor: safeColor(r.fill, color), fillOpacity: r.fill ? (r.fill_opacity !== undefined ? r.fill_opacity : 1) : 0 };
    return s;
  }
  if (st.role_styled) {
    const r = TABLE.roles[p.role] || TABLE.roles.zone || {};
    s = { color: safeColor(r.color, color), weight: r.weight || st.weight || 1, fillColor: safeColor(r.fill, color),
      fillOpacity: r.fill_opacity !== undefined ? r.fill_opacity : 0.2 };
    const d = safeDash(r.dash);
    if (d) s.dashArray = d;
    else s.dashArray = null; // a role without a dash (the core) is drawn solid, even on a schematic layer
  } else {
    s = { color, weight: st.weight || fb.weight || 1, opacity: st.opacity !== undefined ? st.opacity : 1 };
    if (st.fill) {
      s.fillColor = safeColor(st.fill, color);
      const tiles = state.basemap !== "none" && st.fill_opacity_tiles !== undefined;
      s.fillOpacity = tiles ? st.fill_opacity_tiles : (st.fill_opacity !== undefined ? st.fill_opacity : (fb.fill_opacity || 0.2));
    } else if (isRegions(id)) {
      s.fill = true; s.fillOpacity = 0; // an outline that still takes clicks inside
    } else s.fill = false;
    const d = safeDash(st.dash) || (!isRegions(id) && (p.schematic || (state.meta.get(id) || {}).schematic) ? safeDash(states().schematic_dash) : null);
    if (d) s.dashArray = d;
  }
  if (flags && flags.hover && st.hover_fill && state.basemap === "none") s.fillColor = safeColor(st.hover_fill, s.fillColor);
  if (p.year_known === false) undatedStyle(s);
  const over = featureStyle && featureStyle(id, feature);
  if (over) Object.assign(s, over);
  return withStates(s, flags, isRegions(id) ? 1 : 0.7);
}

/** A record without a year, on a map shown as of a year: drawn as the table's `undated` state says. */
function undatedStyle(s) {
  const u = states().undated || {};
  const d = safeDash(u.dash);
  if (d) s.dashArray = d;
  if (s.fillOpacity && Number.isFinite(u.fill_opacity_scale)) s.fillOpacity *= u.fill_opacity_scale;
  if (Number.isFinite(u.opacity_scale)) s.opacity = (s.opacity !== undefined ? s.opacity : 1) * u.opacity_scale;
  return s;
}

export function isSelected(id, fid) {
  const s = state.selected;
  if (!s) return false;
  if (s.id !== fid) return false;
  if (s.layer === id) return true;
  return isRegions(s.layer) && isRegions(id); // same adcode on another region layer: highlight it too
}

/* A divIcon whose DOM is built only when the marker is drawn: in a cluster of thousands, most never are. */
const LazyIcon = L.DivIcon.extend({
  createIcon(oldIcon) {
    this.options.html = this.options.build();
    return L.DivIcon.prototype.createIcon.call(this, oldIcon);
  },
});

export function siteIcon(id, feature, selected) {
  const p = feature.properties || {};
  const kind = p.kind || "other";
  const size = selected ? ((states().selected || {}).size || 28) : (kindStyle(kind).size || 19);
  const undated = p.year_known === false;
  const build = () => {
    const wrap = el("span", { className: "site-symbol" });
    const sym = wrap.appendChild(symbolSvg(kind, layerColor(id), size));
    if (undated) { // no year, on a map shown as of a year: dashed outline, paler symbol (the table's `undated` state)
      const u = states().undated || {};
      const d = safeDash(u.dash);
      if (d) sym.querySelectorAll("circle, rect, polygon").forEach((n) => n.setAttribute("stroke-dasharray", d));
      if (Number.isFinite(u.marker_opacity)) wrap.style.opacity = String(u.marker_opacity);
    }
    // The marker's accessible name (Leaflet makes a keyboard marker a button): its name and kind.
    wrap.appendChild(el("span", { className: "visually-hidden", text: [pick(p, "name") || p.name || fidOf(feature), t("kind." + kind)].join(" · ") }));
    return wrap;
  };
  return new LazyIcon({
    build,
    className: `site-icon kc-feature lyr-${id} fid-${cssId(fidOf(feature))} kind-${cssId(kind)}` + (selected ? " selected" : "") + (undated ? " undated" : ""),
    iconSize: [size, size],
    iconAnchor: [size / 2, size / 2],
    tooltipAnchor: [size / 2, 0],
    popupAnchor: [0, -size / 2],
  });
}

/** The icon of a marker cluster: the count over the symbols of the layers (kinds) inside it, and a name
 * for screen readers ("5 places: …"). Called by leaflet.markercluster for every cluster. */
export function clusterIcon(cluster) {
  const c = clusterRules();
  const markers = cluster.getAllChildMarkers();
  const kinds = new Map(); // "layer|kind" -> [layer, kind]
  markers.forEach((m) => {
    const id = m.options.layerId;
    const kind = (m.feature && m.feature.properties.kind) || defaultKindFor(id);
    if (!kinds.has(id + "|" + kind)) kinds.set(id + "|" + kind, [id, kind]);
  });
  const syms = el("span", { className: "cluster-syms", attrs: { "aria-hidden": "true" } });
  [...kinds.values()].slice(0, 4).forEach(([id, kind]) => syms.appendChild(symbolSvg(kind, layerColor(id), 11)));
  const names = markers.slice(0, 6).map((m) => pick((m.feature || {}).properties || {}, "name")).filter(Boolean);
  const label = t("cluster.name", { n: markers.length, names: names.join(I18N.lang === "en" ? "; " : "、") + (markers.length > names.length ? "…" : "") });
  const box = el("span", { className: "cluster-box" },
    el("span", { className: "cluster-count", text: String(markers.length), attrs: { "aria-hidden": "true" } }), syms,
    el("span", { className: "visually-hidden", text: label }));
  cluster.options.title = label;
  return L.divIcon({ html: box, className: "kc-cluster", iconSize: [c.size, c.size], iconAnchor: [c.size / 2, c.size / 2] });
}

export function restyle(id, leafletLayer) {
  const f = leafletLayer.feature;
  const sel = isSelected(id, fidOf(f));
  if (leafletLayer instanceof L.Marker) leafletLayer.setIcon(siteIcon(id, f, sel));
  else {
    leafletLayer.setStyle(styleFor(id, f, { selected: sel }));
    if (sel && leafletLayer.bringToFront && leafletLayer._map) leafletLayer.bringToFront();
  }
}
export function restyleAll(id) { const e = store.get(id); if (e) e.group.eachLayer((l) => restyle(id, l)); }

/** The site kind a point layer's own swatch shows. */
export function defaultKindFor(id) { return layerStyle(id).kind || "other"; }
