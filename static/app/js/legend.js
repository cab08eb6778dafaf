/* The legend: a swatch per visible layer, its kinds or roles, and notes on labels and schematic shapes. */
import { el, $, clear, safeColor } from "./dom.js";
import { t, pick } from "./i18n.js";
import { state, store } from "./state.js";
import { styleFor, symbolSvg, layerColor, defaultKindFor } from "./styles.js";
import { renderYearNote } from "./timeline.js";

export function legendSwatch(id, extra) {
  const m = state.meta.get(id) || {};
  if (m.kind === "sites" && m.geometry_type === "Point") {
    const kinds = extra && extra.kind ? extra.kind : (m.style && m.style.symbol === "star" ? "innovation-base" : null);
    const sym = symbolSvg(kinds || defaultKindFor(id), layerColor(id), 16);
    return el("span", { className: "swatch sym-swatch" }, sym);
  }
  const st = extra && extra.style ? extra.style : styleFor(id, { properties: {} }, {});
  const sw = el("span", { className: "swatch" + (m.geometry_type === "LineString" ? " line" : "") });
  sw.style.borderColor = safeColor(st.color, "#555");
  if (st.dashArray) sw.style.borderStyle = "dashed";
  if (st.fill !== false && st.fillOpacity) {
    sw.style.setProperty("--fill", safeColor(st.fillColor || st.color, "#ccc"));
    sw.style.setProperty("--fill-opacity", String(Math.max(0.25, st.fillOpacity)));
    sw.classList.add("filled");
  }
  sw.style.borderWidth = Math.max(1, Math.min(3, Math.round(st.weight || 1))) + "px";
  return sw;
}
export function renderLegend() {
  const root = clear($("#legend"));
  const items = [];
  let schematic = false;
  state.layers.forEach((m) => {
    if (!state.visible.has(m.id)) return;
    const e = store.get(m.id);
    const block = el("div", { className: "legend-block", dataset: { layer: m.id } });
    block.appendChild(el("div", { className: "legend-title" }, legendSwatch(m.id), el("span", { text: pick(m, "title") })));
    if (m.schematic) schematic = true;
    if (m.kind === "sites" && e && e.features.length) {
      if (m.id === "science-city-zones") {
        const roles = [...new Set(e.features.map((f) => f.properties.role).filter(Boolean))];
        block.appendChild(el("ul", {}, roles.map((r) => el("li", {}, legendSwatch(m.id, { style: styleFor(m.id, { properties: { role: r } }, {}) }), t("role." + r)))));
        const layouts = new Map(); // parent -> "name: slogan", one line per layout
        e.features.forEach((f) => {
          const p = f.properties || {};
          if (!p.parent || layouts.has(p.parent)) return;
          const name = pick({ name: p.parent_name, name_en: p.parent_name_en }, "name") || p.parent;
          layouts.set(p.parent, p.parent_layout ? `${name} — ${t("layout.slogan", { slogan: p.parent_layout })}` : name);
        });
        if (layouts.size) {
          block.appendChild(el("div", { className: "legend-subtitle", text: t("legend.layouts") }));
          block.appendChild(el("ul", { className: "legend-layouts", dataset: { testid: "legend-layouts" } }, [...layouts.values()].map((s) => el("li", { text: s }))));
        }
      } else if (m.geometry_type === "Point") {
        const kinds = new Map();
        e.features.forEach((f) => { const k = f.properties.kind || "other"; kinds.set(k, (kinds.get(k) || 0) + 1); });
        if (kinds.size > 1 || !kinds.has(defaultKindFor(m.id))) {
          block.appendChild(el("ul", {}, [...kinds].map(([k, n]) => el("li", {}, legendSwatch(m.id, { kind: k }), `${t("kind." + k)} (${n})`))));
        }
      }
      if (e.features.some((f) => f.properties.schematic)) schematic = true;
    }
    items.push(block);
  });
  if (!items.length) root.appendChild(el("p", { className: "muted", text: t("legend.empty") }));
  items.forEach((b) => root.appendChild(b));
  const notes = [];
  if (state.visible.has("cities")) notes.push(t("legend.label.cities"));
  if (state.visible.has("counties") || state.visible.has("pilot-counties")) notes.push(t("legend.label.counties"));
  if (state.visible.has("science-city-zones")) notes.push(t("legend.label.zones"));
  if (schematic) notes.push(t("legend.schematic"));
  if (state.asOf !== null) notes.push(t("legend.undated", { year: state.asOf }));
  if (notes.length) root.appendChild(el("ul", { className: "legend-notes" }, notes.map((n) => el("li", { text: n }))));
  renderYearNote();
}
