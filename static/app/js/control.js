/* The layer control: layers grouped as in the catalog, a checkbox, swatch, count and list button each. */
import { el, $, clear } from "./dom.js";
import { t, pick } from "./i18n.js";
import { state } from "./state.js";
import { setLayerVisible } from "./layers.js";
import { legendSwatch } from "./legend.js";
import { setTableLayer } from "./table.js";

export function buildLayerControl() {
  const root = clear($("#layer-control"));
  const groups = [];
  state.layers.forEach((m) => {
    let g = groups.find((x) => x.id === m.group);
    if (!g) { g = { id: m.group, meta: m, layers: [] }; groups.push(g); }
    g.layers.push(m);
  });
  groups.forEach((g) => {
    const fs = el("fieldset", { className: "layer-group", dataset: { group: g.id } });
    fs.appendChild(el("legend", { text: pick(g.meta, "group_title") || g.id }));
    g.layers.forEach((m) => {
      const cb = el("input", { attrs: { type: "checkbox", id: "lt-" + m.id, "data-testid": "layer-toggle-" + m.id } });
      cb.checked = state.visible.has(m.id);
      cb.addEventListener("change", () => setLayerVisible(m.id, cb.checked));
      const label = el("label", { attrs: { for: "lt-" + m.id } },
        legendSwatch(m.id), el("span", { className: "layer-title", text: pick(m, "title") }),
        m.schematic ? el("span", { className: "badge schematic", text: t("popup.schematic") }) : null);
      const count = el("span", { className: "layer-count", text: t("layer.count", { n: m.count === undefined ? "?" : m.count }) });
      const listBtn = el("button", {
        className: "icon-btn list-btn", title: t("layer.showTable"),
        attrs: { type: "button", "aria-label": `${t("layer.showTable")}: ${pick(m, "title")}`, "data-testid": "layer-table-" + m.id },
        on: { click: () => setTableLayer(m.id, true) },
      }, el("span", { className: "list-icon", attrs: { "aria-hidden": "true" } }));
      const desc = m.description ? el("span", { className: "visually-hidden", text: m.description }) : null;
      fs.appendChild(el("div", { className: "layer-row", dataset: { layer: m.id } }, cb, label, count, listBtn, desc));
    });
    root.appendChild(fs);
  });
}
