/* The popup of a user layer's feature: the row's own columns, as a table of text (never HTML). */
import { el } from "./dom.js";
import { pick } from "./i18n.js";
import { state } from "./state.js";

/** The popup of a user layer's feature: the row's own columns as a table of text. */
export function fillUserRow(box, id, f) {
  const p = (f && f.properties) || {};
  const meta = state.meta.get(id) || {};
  box.appendChild(el("header", { className: "pp-head" },
    el("h3", { text: p.name || p[Object.keys(p)[0]] || String(f.id || "") }),
    el("p", { className: "pp-meta", text: pick(meta, "title") || id })));
  const keys = meta.columns ? Object.keys(meta.columns) : Object.keys(p);
  const tbody = el("tbody");
  keys.forEach((k) => {
    if (k === "geometry" || !(k in p)) return;
    const v = p[k];
    tbody.appendChild(el("tr", {}, el("th", { text: k, attrs: { scope: "row" } }), el("td", { text: v === null || v === undefined ? "" : String(v) })));
  });
  box.appendChild(el("table", { className: "pp-figures user-row", attrs: { "data-testid": "user-row" } }, tbody));
}
