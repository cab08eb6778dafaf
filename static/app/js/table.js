/* The feature table: one layer's features listed, keyboard-navigable and in step with the map's selection. */
import { el, $, clear } from "./dom.js";
import { t, pick } from "./i18n.js";
import { state, store, isRegions, fidOf } from "./state.js";
import { ensureData } from "./layers.js";
import { select } from "./popups.js";
import { renderExport } from "./export.js";
import { updateHash } from "./urlstate.js";
import { closeDrawerOnNarrow } from "./panel.js";
import { addToCompare, comparable } from "./compare.js";

export function buildTableSelect() {
  const sel = clear($("#table-layer"));
  let og = null, lastGroup = null;
  state.layers.forEach((m) => {
    if (m.group !== lastGroup) { og = el("optgroup", { attrs: { label: pick(m, "group_title") || m.group } }); sel.appendChild(og); lastGroup = m.group; }
    og.appendChild(el("option", { text: pick(m, "title"), attrs: { value: m.id } }));
  });
  sel.value = state.tableLayer;
}

export function setTableLayer(id, focus) {
  if (!store.has(id)) return;
  state.tableLayer = id;
  $("#table-layer").value = id;
  state.layers.forEach((m) => { const r = document.querySelector(`.layer-row[data-layer="${m.id}"]`); if (r) r.classList.toggle("in-table", m.id === id); });
  renderExport();
  renderTable().then(() => {
    if (focus) { const r = $("#feature-rows tr[tabindex='0']"); if (r) r.focus(); }
  });
  updateHash();
}

function sortedFeatures(id, features) {
  const regions = isRegions(id);
  return features.slice().sort((a, b) => {
    const pa = a.properties || {}, pb = b.properties || {};
    if (regions) return String(pa.adcode || fidOf(a)).localeCompare(String(pb.adcode || fidOf(b)));
    return String(pa.city || "").localeCompare(String(pb.city || ""), "zh") || String(pa.name).localeCompare(String(pb.name), "zh");
  });
}

export async function renderTable() {
  const id = state.tableLayer;
  const tbody = clear($("#feature-rows"));
  const regions = isRegions(id);
  $("#th-name").textContent = t("table.name");
  const user = (state.meta.get(id) || {}).kind === "user";
  $("#th-second").textContent = regions || user ? t("table.city") : t("table.county");
  const entry = store.get(id);
  if (!entry) return;
  if (entry.key === null) {
    tbody.appendChild(el("tr", { className: "placeholder" }, el("td", { text: t("table.loading"), attrs: { colspan: "2" } })));
    try { await ensureData(id); } catch (e) { return; }
    if (state.tableLayer !== id) return;
    clear(tbody);
  }
  entry.tableShown = true;
  const feats = sortedFeatures(id, entry.features);
  $("#table-count").textContent = t("table.count", { n: feats.length });
  if (!feats.length) {
    tbody.appendChild(el("tr", { className: "placeholder" }, el("td", { text: t("table.empty"), attrs: { colspan: "2" } })));
    return;
  }
  feats.forEach((f, i) => {
    const p = f.properties || {};
    const fid = fidOf(f);
    let second;
    if (regions) second = p.level === "city" ? "" : (pick(p, "city") || "");
    else if (user) second = p.city || "";
    else second = [p.county, p.role ? t("role." + p.role) : t("kind." + (p.kind || "other"))].filter(Boolean).join(" · ");
    const nameCell = el("td", { className: "name" }, el("span", { text: pick(p, "name") || p.name || fid }));
    if (!regions && p.schematic) nameCell.appendChild(el("span", { className: "badge schematic", text: t("popup.schematic") }));
    if ((regions || user) && comparable(fid)) { // mouse: this button; keyboard: the C key on the row
      const name = pick(p, "name") || p.name || fid;
      nameCell.appendChild(el("button", {
        className: "row-compare", // its "+" is drawn by CSS, so the row's text stays the name
        attrs: { type: "button", tabindex: "-1", title: t("compare.add.title", { name }), "aria-label": t("compare.add.title", { name }), "data-testid": "row-compare" },
      }));
    }
    const tr = el("tr", {
      attrs: { tabindex: i === 0 ? "0" : "-1", "aria-selected": "false", "data-testid": "table-row" },
      dataset: { fid, layer: id },
    }, nameCell, el("td", { className: "second", text: second }));
    tbody.appendChild(tr);
  });
  syncTableSelection();
}

function tableRows() { return Array.from(document.querySelectorAll("#feature-rows tr[data-fid]")); }
function focusRow(tr) {
  tableRows().forEach((r) => r.setAttribute("tabindex", "-1"));
  tr.setAttribute("tabindex", "0");
  tr.focus({ preventScroll: true });
  scrollRowIntoView(tr);
}

/** Mark the selected row. opts.follow: if the list shows another layer, list the selection's layer instead. */
export function syncTableSelection(opts) {
  const fromTable = !!(opts && opts.fromTable);
  const s = state.selected;
  const rows = tableRows();
  let hit = null;
  rows.forEach((r) => {
    const on = !!s && r.dataset.fid === s.id && (r.dataset.layer === s.layer || (isRegions(s.layer) && isRegions(r.dataset.layer)));
    r.setAttribute("aria-selected", on ? "true" : "false");
    r.classList.toggle("selected", on);
    if (on) hit = r;
  });
  if (s && !hit && opts && opts.follow && s.layer !== state.tableLayer && s.layer !== "province") {
    // The selection is not in the listed layer: list the selection's layer instead.
    setTableLayer(s.layer);
    return;
  }
  if (hit) {
    rows.forEach((r) => r.setAttribute("tabindex", r === hit ? "0" : "-1"));
    if (!fromTable) scrollRowIntoView(hit);
  }
}
/** Scroll only the table's own box (scrollIntoView would also scroll the panel and the page). */
function scrollRowIntoView(tr) {
  const wrap = tr.closest(".table-wrap");
  if (!wrap) return;
  const head = wrap.querySelector("thead");
  const top = tr.offsetTop - (head ? head.offsetHeight : 0);
  if (top < wrap.scrollTop) wrap.scrollTop = top;
  else if (tr.offsetTop + tr.offsetHeight > wrap.scrollTop + wrap.clientHeight) wrap.scrollTop = tr.offsetTop + tr.offsetHeight - wrap.clientHeight;
}

export function initTableKeys() {
  const tbody = $("#feature-rows");
  tbody.addEventListener("click", (e) => {
    const tr = e.target.closest("tr[data-fid]");
    if (!tr) return;
    if (e.target.closest(".row-compare")) { addToCompare(tr.dataset.fid); return; }
    focusRow(tr);
    select(tr.dataset.layer, tr.dataset.fid, { fly: true, fromTable: true });
    closeDrawerOnNarrow();
  });
  tbody.addEventListener("keydown", (e) => {
    const tr = e.target.closest("tr[data-fid]");
    if (!tr) return;
    const rows = tableRows();
    const i = rows.indexOf(tr);
    let next = null;
    if (e.key === "ArrowDown") next = rows[Math.min(rows.length - 1, i + 1)];
    else if (e.key === "ArrowUp") next = rows[Math.max(0, i - 1)];
    else if (e.key === "Home") next = rows[0];
    else if (e.key === "End") next = rows[rows.length - 1];
    else if (e.key === "PageDown") next = rows[Math.min(rows.length - 1, i + 10)];
    else if (e.key === "PageUp") next = rows[Math.max(0, i - 10)];
    else if ((e.key === "c" || e.key === "C") && !e.ctrlKey && !e.metaKey && !e.altKey && comparable(tr.dataset.fid)) {
      e.preventDefault();
      addToCompare(tr.dataset.fid);
      return;
    } else if (e.key === "Enter" || e.key === " ") {
      e.preventDefault();
      select(tr.dataset.layer, tr.dataset.fid, { fly: true, fromTable: true });
      return;
    }
    if (next) { e.preventDefault(); focusRow(next); }
  });
  $("#table-layer").addEventListener("change", (e) => setTableLayer(e.target.value));
}
