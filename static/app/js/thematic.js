/* The thematic map: colour a region layer by a numeric figure (choropleth) or draw graduated circles for a point
 * layer, from /api/thematic/<layer>; a legend with the class breaks, units, years and sources; part of the
 * permalink ("th=<layer>:<field>:<method>:<k>:<palette>"); the print dialog passes it to the printed map. */
import { $, el, clear, safeColor } from "./dom.js";
import { I18N, t, pick } from "./i18n.js";
import { state, store, ctx, fidOf } from "./state.js";
import { fetchJSON, showStatus } from "./net.js";
import { styleTable, setFeatureStyle, restyleAll, styleFor, isSelected } from "./styles.js";
import { setLayerVisible, ensureData } from "./layers.js";
import { registerHashPart, updateHash } from "./urlstate.js";

const SVG_NS = "http://www.w3.org/2000/svg";
const NO_DATA_PATTERN = "kc-thematic-nodata";
const PANE = "p-thematic";
let current = null;   // {layer, field, method, k, palette, answer}
let fieldsOf = new Map(); // layer -> /api/thematic/<layer> answer
let circles = null;   // L.LayerGroup of graduated circles
let request = 0;      // the latest request wins
let lowered = null;   // {pane, zIndex}: the choropleth's pane, moved under the other overlays while it is shown
const UNDER_OVERLAYS = "403"; // over the county fill (402), under pilot counties (404) and every other overlay

const th = () => (styleTable().thematic || {});

/** Layers a thematic map can use: polygons (regions, imported region lists) and points, not lines or reference. */
function eligible(m) {
  const g = m.geometry_type || "";
  return m.kind !== "reference" && (g.includes("Polygon") || g.includes("Point"));
}

/** The current thematic map as the export's parameters, or null. */
export function thematicParams() {
  if (!current || !current.answer) return null;
  return { layer: current.layer, thematic: `${current.field}:${current.method}:${current.k}:${current.palette}` };
}
export const thematicLayer = () => (current && current.answer ? current.layer : null);
/** What the thematic map shows, in the current language ("figure (unit)"), or "" when there is none. */
export function thematicTitle() {
  if (!current || !current.answer) return "";
  const unit = pick(current.answer, "unit");
  return pick(current.answer.field, "label") + (unit ? ` (${unit})` : "");
}

function fmt(v) {
  if (typeof v !== "number") return String(v);
  return v.toLocaleString(I18N.lang === "en" ? "en-US" : "zh-CN", { maximumFractionDigits: Math.abs(v) < 10 ? 3 : 1 });
}

/** The hidden SVG holding the "no data" hatch pattern that path fills point to (url(#…)). */
function ensurePattern() {
  const nd = th().no_data || {};
  let svg = document.getElementById("kc-thematic-defs");
  if (!svg) {
    svg = document.createElementNS(SVG_NS, "svg");
    svg.id = "kc-thematic-defs";
    svg.setAttribute("class", "thematic-defs");
    svg.setAttribute("aria-hidden", "true");
    document.body.appendChild(svg);
  }
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const defs = document.createElementNS(SVG_NS, "defs");
  const pat = document.createElementNS(SVG_NS, "pattern");
  pat.id = NO_DATA_PATTERN;
  [["patternUnits", "userSpaceOnUse"], ["width", "6"], ["height", "6"], ["patternTransform", "rotate(45)"]]
    .forEach(([k, v]) => pat.setAttribute(k, v));
  const bg = document.createElementNS(SVG_NS, "rect");
  [["width", "6"], ["height", "6"], ["fill", safeColor(nd.fill, "#f0f0f0")]].forEach(([k, v]) => bg.setAttribute(k, v));
  const line = document.createElementNS(SVG_NS, "line");
  [["x1", "0"], ["y1", "0"], ["x2", "0"], ["y2", "6"], ["stroke", safeColor(nd.hatch_color, "#9e9e9e")], ["stroke-width", "2"]]
    .forEach(([k, v]) => line.setAttribute(k, v));
  pat.append(bg, line);
  defs.appendChild(pat);
  svg.appendChild(defs);
}

/** Path options of a feature on the thematic layer: its class colour, or the hatched "no data" fill. */
function featureStyle(id, feature) {
  if (!current || !current.answer || id !== current.layer || current.answer.symbol !== "choropleth") return null;
  const a = current.answer;
  const hit = a.features[fidOf(feature)];
  const region = th().region || {};
  if (hit) {
    const cls = a.classes[hit.class] || {};
    return { fill: true, fillColor: safeColor(cls.color, "#cccccc"), fillOpacity: region.fill_opacity ?? 0.88,
      color: safeColor(region.color, "#ffffff"), weight: region.weight || 0.9, opacity: 1, dashArray: null };
  }
  const nd = th().no_data || {};
  return { fill: true, fillColor: `url(#${NO_DATA_PATTERN})`, fillOpacity: 1, color: safeColor(nd.color, "#8c8c8c"),
    weight: nd.weight || 0.8, opacity: 1, dashArray: null };
}

function circlePane() {
  if (!ctx.map.getPane(PANE)) {
    const p = ctx.map.createPane(PANE);
    p.style.zIndex = "615"; // over the site markers (600), under the labels (620)
    p.classList.add("thematic-pane");
  }
  return PANE;
}

/* A point layer's data is fetched again when the datum changes: its circles follow. */
const watched = new Set();
let redraw = null;
function watch(layer) {
  const entry = store.get(layer);
  if (!entry || watched.has(layer)) return;
  watched.add(layer);
  entry.group.on("layeradd", () => {
    clearTimeout(redraw);
    redraw = setTimeout(() => { if (current && current.layer === layer && current.answer.symbol === "graduated") drawCircles(); }, 0);
  });
}

function drawCircles() {
  if (circles) { ctx.map.removeLayer(circles); circles = null; }
  if (!current || !current.answer || current.answer.symbol !== "graduated") return;
  const a = current.answer;
  const c = th().circle || {};
  const nd = th().no_data || {};
  const entry = store.get(current.layer);
  circles = L.layerGroup([], { pane: circlePane() });
  (entry ? entry.features : []).forEach((f) => {
    const g = f.geometry;
    if (!g || (g.type !== "Point" && g.type !== "MultiPoint")) return;
    const xy = g.type === "Point" ? g.coordinates : g.coordinates[0];
    const hit = a.features[fidOf(f)];
    const cls = hit ? a.classes[hit.class] || {} : null;
    const opts = cls
      ? { radius: cls.radius || 6, color: safeColor(c.color, "#333333"), weight: c.weight || 1, fillColor: safeColor(cls.color, "#cccccc"), fillOpacity: c.fill_opacity ?? 0.85 }
      : { radius: 4, color: safeColor(nd.color, "#8c8c8c"), weight: 1.5, fillColor: safeColor(nd.fill, "#f0f0f0"), fillOpacity: 1, dashArray: "2 2" };
    circles.addLayer(L.circleMarker([xy[1], xy[0]], { ...opts, pane: PANE, interactive: false,
      className: `thematic-circle ${hit ? "class-" + hit.class : "no-data"}` }));
  });
  circles.addTo(ctx.map);
}

function option(value, text) { return el("option", { text, attrs: { value } }); }

function fillLayers() {
  const keep = current ? current.layer : $("#th-layer").value;
  const sel = clear($("#th-layer"));
  sel.appendChild(option("", t("thematic.layer.none")));
  state.layers.filter(eligible).forEach((m) => sel.appendChild(option(m.id, pick(m, "title"))));
  sel.value = state.layers.some((m) => m.id === keep) ? keep : "";
}

function fillPalettes() {
  const sel = clear($("#th-palette"));
  Object.keys(th().palettes || {}).forEach((name) => sel.appendChild(option(name, name)));
  sel.value = (current && current.palette) || th().default_palette || sel.value;
}

function fillFields(layer) {
  const sel = clear($("#th-field"));
  const answer = fieldsOf.get(layer);
  const list = (answer && answer.fields) || [];
  sel.appendChild(option("", t("thematic.field.none")));
  list.forEach((f) => {
    const unit = pick(f, "unit");
    const label = pick(f, "label") + (unit ? ` (${unit})` : "");
    sel.appendChild(option(f.id, t("thematic.field.option", { label, n: f.count })));
  });
  sel.disabled = !list.length;
  $("#th-note").textContent = answer && !list.length ? t("thematic.nofields") : "";
  if (current && current.layer === layer) sel.value = current.field;
}

async function loadFields(layer) {
  if (!fieldsOf.has(layer)) fieldsOf.set(layer, await fetchJSON(`/api/thematic/${encodeURIComponent(layer)}`));
  return fieldsOf.get(layer);
}

/** The legend: heading (figure, unit), classification, one row per class, "no data", years, kinds, sources. */
function renderLegend() {
  const box = clear($("#th-legend"));
  $("#th-clear").disabled = !current;
  if (!current || !current.answer) { box.hidden = true; return; }
  box.hidden = false;
  const a = current.answer;
  const unit = pick(a, "unit");
  box.appendChild(el("div", { className: "th-heading", text: thematicTitle() }));
  box.appendChild(el("div", { className: "th-method", text: t("thematic.classes", { method: t("thematic.method." + a.method), k: a.k_used }) }));
  const rows = a.classes.map((c, i) => {
    const sw = el("span", { className: "th-swatch" + (a.symbol === "graduated" ? " circle" : "") });
    sw.style.backgroundColor = safeColor(c.color, "#cccccc");
    return el("li", { dataset: { cls: String(i), color: c.color } }, sw,
      el("span", { className: "th-range", text: `${fmt(c.min)} – ${fmt(c.max)}${unit ? " " + unit : ""}` }),
      el("span", { className: "th-count", text: `(${c.count})` }));
  });
  if (a.no_data.length) {
    rows.push(el("li", { dataset: { cls: "no-data" } }, el("span", { className: "th-swatch no-data" }),
      el("span", { text: t("thematic.nodata") }), el("span", { className: "th-count", text: `(${a.no_data.length})` })));
  }
  box.appendChild(el("ul", { dataset: { testid: "th-classes" } }, rows));
  const meta = [];
  if (a.k_used < a.k) meta.push(t("thematic.fewer", { n: a.k_used, k: a.k_used, asked: a.k }));
  if (a.symbol === "graduated") meta.push(t("thematic.circles"));
  if (a.field.source === "column") meta.push(t("thematic.column"));
  if (a.years.length) meta.push(t("thematic.years", { years: a.years.join(t("sep")) }));
  if (a.statuses.length) meta.push(t("thematic.statuses", { statuses: a.statuses.map((s) => t("thematic.status." + s)).join(t("sep")) }));
  if (a.sources.length) {
    const docs = a.sources.map((s) => {
      const title = pick(s, "title");
      return (I18N.lang === "en" ? title : `《${title}》`) + (s.doc_number ? ` (${s.doc_number})` : "");
    });
    meta.push(t("thematic.sources", { sources: docs.join(t("sep")) }));
  }
  meta.forEach((m) => box.appendChild(el("p", { className: "th-meta", text: m })));
}

/** A choropleth sits under the other overlays (designations, sites stay readable on top of it). */
function placePane() {
  if (lowered) { lowered.pane.style.zIndex = lowered.zIndex; lowered = null; }
  if (!current || !current.answer || current.answer.symbol !== "choropleth") return;
  const entry = store.get(current.layer);
  const first = entry && entry.group.getLayers()[0];
  const pane = first && first.options && first.options.pane && ctx.map.getPane(first.options.pane);
  if (pane && pane !== ctx.map.getPane("overlayPane")) {
    lowered = { pane, zIndex: pane.style.zIndex };
    pane.style.zIndex = UNDER_OVERLAYS;
  }
}

function apply() {
  placePane();
  setFeatureStyle(featureStyle);
  state.layers.forEach((m) => { if (store.has(m.id)) restyleAll(m.id); });
  drawCircles();
  renderLegend();
}

/** Show the thematic map of `spec` ({layer, field, method, k, palette}); resolves when it is drawn. */
export async function showThematic(spec, opts) {
  const mine = ++request;
  const note = $("#th-note");
  note.textContent = t("thematic.loading");
  const params = new URLSearchParams({ field: spec.field, method: spec.method, k: String(spec.k), palette: spec.palette });
  try {
    const [answer] = await Promise.all([
      fetchJSON(`/api/thematic/${encodeURIComponent(spec.layer)}?${params}`),
      state.visible.has(spec.layer) ? ensureData(spec.layer) : setLayerVisible(spec.layer, true, { silent: true }),
    ]);
    if (mine !== request) return;
    await ensureData(spec.layer);
    current = { ...spec, answer };
    if (answer.symbol === "graduated") watch(spec.layer);
    note.textContent = "";
    apply();
  } catch (e) {
    if (mine !== request) return;
    note.textContent = t("thematic.error", { msg: e.message });
    showStatus(t("thematic.error", { msg: e.message }), "error");
  }
  if (!(opts && opts.silent)) updateHash();
}

/** Back to the layers' own styles. Leaflet's setStyle keeps options it is not given, so the thematic layer's
 * paths get Leaflet's defaults for what the thematic map set and the layer's own style may leave out. */
export function clearThematic(opts) {
  request++;
  const was = current && current.layer;
  current = null;
  placePane();
  setFeatureStyle(null);
  const entry = was && store.get(was);
  if (entry) {
    entry.group.eachLayer((l) => {
      if (l.setStyle && l.feature) l.setStyle({ fillColor: null, dashArray: null, ...styleFor(was, l.feature, { selected: isSelected(was, fidOf(l.feature)) }) });
    });
  }
  state.layers.forEach((m) => { if (store.has(m.id)) restyleAll(m.id); });
  drawCircles();
  renderLegend();
  $("#th-field").value = "";
  $("#th-layer").value = "";
  fillFields("");
  $("#th-note").textContent = "";
  if (!(opts && opts.silent)) updateHash();
}

function choices() {
  return {
    layer: $("#th-layer").value,
    field: $("#th-field").value,
    method: $("#th-method").value,
    k: Number($("#th-k").value),
    palette: $("#th-palette").value,
  };
}

function onChange() {
  const c = choices();
  if (c.layer && c.field) showThematic(c);
}

async function onLayer() {
  const layer = $("#th-layer").value;
  if (current && current.layer !== layer) clearThematic({ silent: true });
  $("#th-layer").value = layer;
  if (!layer) { fillFields(""); updateHash(); return; }
  try { await loadFields(layer); } catch (e) { $("#th-note").textContent = t("thematic.error", { msg: e.message }); return; }
  if ($("#th-layer").value === layer) fillFields(layer);
}

/** Parse "<layer>:<field>:<method>:<k>:<palette>" (the field may hold colons). */
function parsePart(value) {
  const i = value.indexOf(":");
  if (i <= 0) return null;
  const layer = value.slice(0, i);
  const rest = value.slice(i + 1).split(":");
  if (rest.length < 4) return null;
  const palette = rest.pop();
  const k = Number(rest.pop());
  const method = rest.pop();
  return { layer, field: rest.join(":"), method, k, palette };
}

async function applyPart(value, initial) {
  if (!value) { if (current && !initial) clearThematic({ silent: true }); return; }
  const spec = parsePart(value);
  if (!spec || !store.has(spec.layer)) return;
  const same = current && thematicParams() && `${current.layer}:${thematicParams().thematic}` === value;
  if (same) return;
  $("#th-layer").value = spec.layer;
  try { await loadFields(spec.layer); } catch (e) { return; }
  fillFields(spec.layer);
  $("#th-field").value = spec.field;
  $("#th-method").value = spec.method;
  $("#th-k").value = String(spec.k);
  $("#th-palette").value = spec.palette;
  await showThematic(spec, { silent: true });
}

/** Rebuild the control's text in the current language (the language switch calls it). */
export function renderThematic() {
  if (!$("#th-layer")) return;
  fillLayers();
  fillFields(current ? current.layer : $("#th-layer").value);
  renderLegend();
}

export function initThematic() {
  ensurePattern();
  fillLayers();
  fillPalettes();
  fillFields("");
  $("#th-layer").addEventListener("change", onLayer);
  // layers imported or replaced since: list them afresh, and ask for their fields again
  $("#th-layer").addEventListener("focus", () => { fieldsOf = new Map(); fillLayers(); });
  ["#th-field", "#th-method", "#th-k", "#th-palette"].forEach((s) => $(s).addEventListener("change", onChange));
  $("#th-clear").addEventListener("click", () => clearThematic());
  registerHashPart("th", () => {
    const p = thematicParams();
    return p ? `${p.layer}:${p.thematic}` : null;
  }, applyPart);
}
