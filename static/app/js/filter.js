/* The filter panel: builds a question across layers with a few clicks (no query language), asks /api/query,
 * shows the count in all and per city, lists the matches, veils the other regions on the map (its own pane,
 * drawn from the style table's `query` entries) and offers the answer's exports. Part of the permalink (`q`). */
import { EXPORT_FORMATS } from "./config.js";
import { el, $, clear, safeColor, fmtValue } from "./dom.js";
import { t, pick } from "./i18n.js";
import { state, ctx } from "./state.js";
import { fetchJSON } from "./net.js";
import { styleTable } from "./styles.js";
import { select } from "./popups.js";
import { registerHashPart, updateHash } from "./urlstate.js";

const KINDS = ["in", "not_in", "contains", "not_contains", "where"];
const OPS = [">=", ">", "<=", "<", "="];
const PANE = "p-query";
const WHERE_RE = /^(.+?)(>=|<=|>|<|=)(.+)$/;

let vocab = null;          // /api/query/layers
let rows = [];             // [{kind, layer, min, field, op, value, node}]
let answer = null;         // the last answer shown
let seq = 0;               // answers arrive in order of asking; older ones are dropped
let timer = null;
const shapes = new Map();  // "level|datum" -> FeatureCollection of the regions
let overlay = null;        // {dim, match, key}

async function loadVocab(force) {
  if (!vocab || force) vocab = await fetchJSON("/api/query/layers");
  return vocab;
}
const regionLayers = () => (vocab ? vocab.regions : []);
const siteLayers = () => (vocab ? vocab.sites : []);
const level = () => $("#filter-level").value;

/** The question's parameters from the rows; rows not yet complete are left out. */
function params() {
  const p = new URLSearchParams();
  p.set("level", level());
  const inLayers = rows.filter((r) => r.kind === "in" && r.layer).map((r) => r.layer);
  rows.forEach((r) => {
    if (!r.layer && r.kind !== "where") return;
    if (r.kind === "in" || r.kind === "not_in" || r.kind === "not_contains") p.append(r.kind, r.layer);
    else if (r.kind === "contains") p.append("contains", `${r.layer}:${Math.max(0, parseInt(r.min, 10) || 0)}`);
    else if (r.kind === "where" && r.field && r.value !== "" && Number.isFinite(Number(r.value))) {
      const [layer] = r.field.split(":");
      if (inLayers.includes(layer)) p.append("where", `${r.field}${r.op}${Number(r.value)}`);
    }
  });
  return p;
}
const active = (p) => [...p.keys()].some((k) => k !== "level");

function layerOptions(list, chosen) {
  return list.map((m) => el("option", { text: pick(m, "title") || m.id, attrs: { value: m.id, selected: m.id === chosen ? "" : null } }));
}

/** The numeric fields of the region layers chosen with "in": values "<layer>:<field>". */
function fieldOptions(chosen) {
  const inLayers = new Set(rows.filter((r) => r.kind === "in" && r.layer).map((r) => r.layer));
  const out = [];
  regionLayers().filter((m) => inLayers.has(m.id)).forEach((m) => {
    (m.numeric_fields || []).forEach((f) => {
      const v = `${m.id}:${f}`;
      out.push(el("option", { text: `${f} (${pick(m, "title") || m.id})`, attrs: { value: v, selected: v === chosen ? "" : null } }));
    });
  });
  return out;
}

function renderRow(r, i) {
  const n = i + 1;
  const kind = el("select", {
    className: "filter-kind", attrs: { "aria-label": t("filter.kind", { n }), "data-testid": "filter-kind" },
    on: { change: (e) => { r.kind = e.target.value; r.layer = ""; r.field = ""; renderRows(); changed(); } },
  }, KINDS.map((k) => el("option", { text: t("filter.kind." + k), attrs: { value: k, selected: k === r.kind ? "" : null } })));
  const parts = [kind];
  if (r.kind === "where") {
    const fields = fieldOptions(r.field);
    if (!fields.length) parts.push(el("span", { className: "filter-hint", text: t("filter.noFields") }));
    else {
      if (!fields.some((o) => o.value === r.field)) r.field = fields[0].value;
      parts.push(el("select", {
        className: "filter-field", attrs: { "aria-label": t("filter.field"), "data-testid": "filter-field" },
        on: { change: (e) => { r.field = e.target.value; changed(); } },
      }, fields));
      parts.push(el("select", {
        className: "filter-op", attrs: { "aria-label": t("filter.op"), "data-testid": "filter-op" },
        on: { change: (e) => { r.op = e.target.value; changed(); } },
      }, OPS.map((o) => el("option", { text: o, attrs: { value: o, selected: o === r.op ? "" : null } }))));
      const value = el("input", {
        className: "filter-value",
        attrs: { type: "number", step: "any", "aria-label": t("filter.value"), "data-testid": "filter-value", value: r.value },
        on: { input: (e) => { r.value = e.target.value; changed(true); } },
      });
      parts.push(value);
    }
  } else {
    const list = r.kind === "in" || r.kind === "not_in" ? regionLayers() : siteLayers();
    if (!list.some((m) => m.id === r.layer)) r.layer = list.length ? list[0].id : "";
    if (r.kind === "contains") {
      parts.push(el("input", {
        className: "filter-min",
        attrs: { type: "number", min: "0", step: "1", "aria-label": t("filter.min"), "data-testid": "filter-min", value: r.min },
        on: { input: (e) => { r.min = e.target.value; changed(true); } },
      }));
    }
    parts.push(el("select", {
      className: "filter-layer", attrs: { "aria-label": t("filter.layer"), "data-testid": "filter-layer" },
      on: { change: (e) => { r.layer = e.target.value; renderRows(); changed(); } },
    }, layerOptions(list, r.layer)));
  }
  parts.push(el("button", {
    className: "icon-btn filter-remove", text: "×",
    attrs: { type: "button", "aria-label": t("filter.remove", { n }), title: t("filter.remove", { n }), "data-testid": "filter-remove" },
    on: { click: () => { rows.splice(rows.indexOf(r), 1); renderRows(); changed(); $("#filter-add").focus(); } },
  }));
  return el("li", { className: "filter-row", dataset: { kind: r.kind }, attrs: { "data-testid": "filter-row" } }, parts);
}

function renderRows() {
  const ul = clear($("#filter-rows"));
  rows.forEach((r, i) => ul.appendChild(renderRow(r, i)));
}

/** Ask again (debounced while typing). */
function changed(typing) {
  clearTimeout(timer);
  if (typing) timer = setTimeout(run, 300);
  else run();
}

async function run() {
  const p = params();
  const mine = ++seq;
  const msg = $("#filter-message");
  if (!active(p)) { answer = null; msg.textContent = ""; render(); await drawOverlay(); updateHash(); return; }
  try {
    const got = await fetchJSON("/api/query?" + p.toString());
    if (mine !== seq) return;
    answer = got;
    msg.textContent = "";
  } catch (e) {
    if (mine !== seq) return;
    answer = null;
    msg.textContent = t("filter.error", { what: e.message });
  }
  render();
  await drawOverlay();
  updateHash();
}

function render() {
  const count = $("#filter-count");
  const cities = clear($("#filter-by-city"));
  const list = clear($("#filter-list"));
  const exp = clear($("#filter-export"));
  $("#filter-result").hidden = !answer;
  document.body.classList.toggle("filtering", !!answer);
  if (!answer) { count.textContent = ""; return; }
  const unit = t(answer.query.level === "city" ? "filter.unit.city" : "filter.unit.county");
  count.textContent = t("filter.count", { n: answer.count, unit });
  Object.entries(answer.by_city).forEach(([city, n]) => {
    cities.appendChild(el("li", { attrs: { "data-testid": "filter-city" } }, el("span", { text: city }), el("b", { text: String(n) })));
  });
  const layer = answer.query.level === "city" ? "cities" : "counties";
  answer.regions.forEach((r) => {
    const figures = [];
    Object.entries(r.counts || {}).forEach(([id, n]) => figures.push(`${layerName(id)} ${n}`));
    Object.entries(r.values || {}).forEach(([term, v]) => figures.push(`${term.split(":").slice(1).join(":") || term} ${fmtValue(v)}`));
    const label = [r.name, answer.query.level === "city" ? "" : r.city].filter(Boolean).join(" · ");
    list.appendChild(el("li", {}, el("button", {
      className: "filter-match", attrs: { type: "button", "data-testid": "filter-match" }, dataset: { adcode: r.adcode },
      on: { click: () => select(layer, r.adcode, { fly: true }) },
    }, el("span", { className: "filter-match-name", text: label }), figures.length ? el("small", { text: figures.join(" · ") }) : null)));
  });
  const query = answer.query.params;
  EXPORT_FORMATS.forEach((ext) => {
    exp.appendChild(el("li", {}, el("a", {
      text: t("export." + ext),
      attrs: { href: `/export/query.${ext}?${query}`, download: `query.${ext}`, "data-testid": "filter-export-" + ext },
    })));
  });
}

function layerName(id) {
  const m = siteLayers().find((x) => x.id === id) || regionLayers().find((x) => x.id === id);
  return m ? pick(m, "title") || id : id;
}

/** The style table's `query` (matches) and `states.query_dim` (the veil over the others) as Leaflet styles. */
function overlayStyles() {
  const table = styleTable();
  const m = (table.layers || {}).query || {};
  const d = (table.states || {}).query_dim || {};
  return {
    match: { color: safeColor(m.color, "#333333"), weight: m.weight || 2, opacity: m.opacity ?? 1, fill: !!m.fill,
      fillColor: safeColor(m.fill, "#333333"), fillOpacity: m.fill_opacity ?? 0.4, className: "query-match", interactive: false, pane: PANE },
    dim: { stroke: !!d.weight, weight: d.weight || 0, color: safeColor(d.color, "#ffffff"), fill: true,
      fillColor: safeColor(d.fill, "#ffffff"), fillOpacity: d.fill_opacity ?? 0.6, className: "query-dim", interactive: false, pane: PANE },
  };
}

let drawSeq = 0;
async function drawOverlay() {
  if (!ctx.map) return;
  const mine = ++drawSeq;
  if (!ctx.map.getPane(PANE)) {
    const p = ctx.map.createPane(PANE);
    p.style.zIndex = "411"; // over the region layers and the province outline, under corridors and markers
    p.style.pointerEvents = "none";
  }
  const shown = answer;
  let fc = null;
  if (shown) {
    const lvl = shown.query.level;
    const key = `${lvl}|${state.datum}`;
    fc = shapes.get(key);
    if (!fc) {
      try { fc = await fetchJSON(`/api/layers/${lvl === "city" ? "cities" : "counties"}?zoom=9&datum=${state.datum}`); } catch (e) { return; }
      shapes.set(key, fc);
    }
  }
  if (mine !== drawSeq) return; // a newer drawing is under way
  if (overlay) { ctx.map.removeLayer(overlay.dim); ctx.map.removeLayer(overlay.match); overlay = null; }
  if (!shown) return;
  const hits = new Set(shown.regions.map((r) => r.adcode));
  const code = (f) => String((f.properties || {}).adcode || f.id);
  const s = overlayStyles();
  const dim = L.geoJSON({ type: "FeatureCollection", features: fc.features.filter((f) => !hits.has(code(f))) }, { style: () => s.dim, pane: PANE, interactive: false });
  const match = L.geoJSON({ type: "FeatureCollection", features: fc.features.filter((f) => hits.has(code(f))) }, { style: () => s.match, pane: PANE, interactive: false });
  overlay = { dim: dim.addTo(ctx.map), match: match.addTo(ctx.map), datum: state.datum };
}

export function clearFilter() {
  rows = [];
  $("#filter-level").value = "county";
  renderRows();
  run();
  $("#filter-message").textContent = "";
}

/** Rebuild the panel from a question's parameters (the permalink's `q`). */
async function applyParams(text) {
  const p = new URLSearchParams(text || "");
  await loadVocab();
  $("#filter-level").value = p.get("level") === "city" ? "city" : "county";
  rows = [];
  p.forEach((v, k) => {
    if (k === "in" || k === "not_in" || k === "not_contains") rows.push(newRow(k, { layer: v }));
    else if (k === "contains") {
      const i = v.lastIndexOf(":");
      rows.push(newRow(k, i > 0 ? { layer: v.slice(0, i), min: v.slice(i + 1) } : { layer: v }));
    } else if (k === "where") {
      const m = WHERE_RE.exec(v);
      if (m) rows.push(newRow(k, { field: m[1], op: m[2], value: m[3] }));
    }
  });
  renderRows();
  await run();
}

function newRow(kind, extra) { return Object.assign({ kind, layer: "", min: "1", field: "", op: ">=", value: "" }, extra || {}); }

function relabel() {
  const level = $("#filter-level");
  Array.from(level.options).forEach((o) => { o.textContent = t("filter.level." + o.value); });
  renderRows();
  render();
}

export function initFilter() {
  const level = $("#filter-level");
  ["county", "city"].forEach((v) => level.appendChild(el("option", { text: t("filter.level." + v), attrs: { value: v } })));
  level.addEventListener("change", () => changed());
  $("#filter-add").addEventListener("click", async () => {
    await loadVocab(true); // user layers may have come since
    rows.push(newRow(rows.some((r) => r.kind === "in") ? "contains" : "in"));
    renderRows();
    changed();
    const kinds = document.querySelectorAll("#filter-rows .filter-kind");
    if (kinds.length) kinds[kinds.length - 1].focus();
  });
  $("#filter-clear").addEventListener("click", clearFilter);
  loadVocab().catch(() => null);
  // The language switch rebuilds the page's strings; follow it (the <html lang> attribute changes with it).
  new MutationObserver(relabel).observe(document.documentElement, { attributes: true, attributeFilter: ["lang"] });
  ctx.map.on("moveend", () => { if (overlay && overlay.datum !== state.datum) drawOverlay(); });
  registerHashPart("q", () => (answer ? answer.query.params : null), async (value, initial) => {
    const now = answer ? answer.query.params : null;
    if ((value || null) === now) return;
    if (!value) { if (!initial) clearFilter(); return; }
    await applyParams(value);
  });
}

/** For tests and other modules: the last answer shown (null when the filter is off). */
export const filterAnswer = () => answer;
