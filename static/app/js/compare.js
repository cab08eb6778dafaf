/* Compare: 2–4 counties or cities collected in a small tray (from a profile, the table or search) and shown side
 * by side in a modal dialog (/api/compare): designations, figures aligned by indicator with year and source, the
 * sites inside per layer, summaries. Part of the permalink (cmp=ids, cmpv=1 while the view is open); printable
 * as a PDF page made on the server (/export/compare.pdf). */
import { el, $, clear, fmtValue } from "./dom.js";
import { I18N, t, pick, pickOnly } from "./i18n.js";
import { fetchJSON, showStatus } from "./net.js";
import { profiles, store, layerTitle } from "./state.js";
import { registerHashPart, updateHash } from "./urlstate.js";
import { select, sourceText } from "./popups.js";

export const MAX_COMPARE = 4;
const MIN_COMPARE = 2;
const ADCODE = /^\d{6}$/;
const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
const cmp = { ids: [], names: new Map(), open: false, data: null, opener: null, seq: 0 };

/** A county or city adcode (the province and site ids cannot be compared). */
export const comparable = (fid) => ADCODE.test(String(fid)) && !/0000$/.test(String(fid));
export const inCompare = (fid) => cmp.ids.includes(String(fid));
export const compareIds = () => cmp.ids.slice();

async function regionName(code) {
  if (cmp.names.has(code)) return cmp.names.get(code);
  let prof = profiles.get(code);
  if (!prof) {
    try { prof = await fetchJSON(`/api/regions/${encodeURIComponent(code)}`); profiles.set(code, prof); } catch (e) { return null; }
  }
  cmp.names.set(code, { name: prof.name, name_en: prof.name_en });
  return cmp.names.get(code);
}

/** Add a region to the tray (at most four); opts.quiet: no status message. */
export async function addToCompare(code, opts) {
  code = String(code);
  if (!comparable(code)) return false;
  if (cmp.ids.includes(code)) { showStatus(t("compare.already")); return false; }
  if (cmp.ids.length >= MAX_COMPARE) { showStatus(t("compare.full", { n: MAX_COMPARE }), "error"); return false; }
  cmp.ids.push(code);
  const n = await regionName(code);
  if (!(opts && opts.quiet)) showStatus(t("compare.added", { name: n ? pick(n, "name") : code, n: cmp.ids.length }));
  renderTray();
  updateHash();
  document.dispatchEvent(new CustomEvent("kechuang:compare"));
  return true;
}

export function removeFromCompare(code) {
  cmp.ids = cmp.ids.filter((c) => c !== String(code));
  if (cmp.ids.length < MIN_COMPARE && cmp.open) closeCompare();
  renderTray();
  if (cmp.open) renderView();
  updateHash();
  document.dispatchEvent(new CustomEvent("kechuang:compare"));
}

export function clearCompare() {
  cmp.ids = [];
  if (cmp.open) closeCompare();
  renderTray();
  updateHash();
  document.dispatchEvent(new CustomEvent("kechuang:compare"));
}

/** A "对比 / Compare" toggle button for a region (profile sheet). */
export function compareButton(code, name) {
  const btn = el("button", { className: "compare-add", attrs: { type: "button", "data-testid": "compare-add" } });
  const sync = () => {
    const on = inCompare(code);
    btn.textContent = on ? t("compare.remove") : t("compare.add");
    btn.setAttribute("aria-pressed", on ? "true" : "false");
    btn.title = on ? t("compare.remove.title", { name }) : t("compare.add.title", { name });
  };
  btn.addEventListener("click", async () => {
    if (inCompare(code)) removeFromCompare(code); else await addToCompare(code);
    sync();
  });
  sync();
  return btn;
}

// ------------------------------------------------------------------ the tray
function renderTray() {
  const tray = $("#compare-tray");
  if (!tray) return;
  tray.hidden = cmp.ids.length === 0;
  const list = clear($("#compare-tray-list"));
  cmp.ids.forEach((code) => {
    const n = cmp.names.get(code);
    const name = n ? pick(n, "name") : code;
    list.appendChild(el("li", { className: "compare-chip", dataset: { adcode: code, testid: "compare-chip" } },
      el("span", { text: name }),
      el("button", {
        className: "chip-remove", text: "×",
        attrs: { type: "button", "aria-label": t("compare.remove.title", { name }), title: t("compare.remove.title", { name }) },
        on: { click: () => removeFromCompare(code) },
      })));
  });
  $("#compare-tray-count").textContent = t("compare.count", { n: cmp.ids.length, max: MAX_COMPARE });
  const go = $("#compare-open");
  go.disabled = cmp.ids.length < MIN_COMPARE;
  go.title = go.disabled ? t("compare.needTwo") : "";
}

// ------------------------------------------------------------------ the view
function unitText(obj) {
  if (I18N.lang !== "en") return obj.unit || "";
  if (obj.unit_en !== undefined && obj.unit_en !== null) return obj.unit_en;
  return obj.unit && !CJK.test(obj.unit) ? obj.unit : "";
}
function valueNode(cell) {
  if (I18N.lang === "en" && typeof cell.value === "string" && CJK.test(cell.value)) {
    return el("span", { className: "fig-value untranslated", text: t("fact.untranslated") });
  }
  const u = unitText(cell);
  return el("span", { className: "fig-value" }, fmtValue(cell.value),
    u ? el("span", { className: "fig-unit", text: /^[%‰℃°]/.test(u) ? u : " " + u }) : null);
}
function yearText(y) { return I18N.lang === "en" ? String(y) : `${y}年`; }
function sourceLine(item) {
  if (!item || !item.source) return null;
  return el("span", { className: "cmp-source", text: sourceText(item.source), dataset: { file: item.source.file || "" } });
}

function factCell(cell) {
  const td = el("td", { dataset: { testid: "compare-cell" } });
  if (!cell) { td.classList.add("empty"); td.appendChild(el("span", { className: "muted", text: "—", attrs: { "aria-label": t("compare.noValue") } })); return td; }
  td.appendChild(valueNode(cell));
  if (cell.status && cell.status !== "reported") {
    td.appendChild(el("span", { className: `badge status status-${cell.status}`, text: t("fact.status." + cell.status) + (cell.period ? ` ${cell.period}` : "") }));
  }
  if (cell.year) td.appendChild(el("span", { className: "fig-year", text: yearText(cell.year) }));
  const note = pickOnly(cell, "note");
  if (note) td.appendChild(el("span", { className: "fig-note", text: note }));
  (cell.alternatives || []).forEach((a) => td.appendChild(el("span", { className: "fig-alt" },
    el("span", { className: "source-label", text: t("popup.altSource") + t("colon") }), valueNode(a),
    a.year ? " · " + yearText(a.year) : "", sourceLine(a))));
  const src = sourceLine(cell);
  if (src) td.appendChild(src);
  return td;
}

function sectionRow(title, span) {
  return el("tr", { className: "cmp-section" }, el("th", { text: title, attrs: { colspan: String(span), scope: "colgroup" } }));
}

function factRows(tbody, rows, span) {
  rows.forEach((row) => {
    const label = pickOnly(row, "label") || "—";
    const tr = el("tr", { dataset: { testid: "compare-row", label: row.label, shared: String(row.regions_with_value) } },
      el("th", { text: label, attrs: { scope: "row" } }));
    row.cells.forEach((c) => tr.appendChild(factCell(c)));
    tbody.appendChild(tr);
  });
  return span;
}

function siteName(s) { return (I18N.lang === "en" && s.name_en) || s.name || s.id; }

function renderView() {
  const body = clear($("#compare-body"));
  const data = cmp.data;
  const pdf = $("#compare-pdf");
  pdf.href = `/export/compare.pdf?ids=${cmp.ids.join(",")}&lang=${I18N.lang}`;
  pdf.setAttribute("download", `compare-${cmp.ids.join("-")}.pdf`);
  if (!data) {
    $("#compare-heading").textContent = t("compare.title");
    body.appendChild(el("p", { className: "loading", text: t("popup.loading") }));
    return;
  }
  const regions = data.regions;
  const span = regions.length + 1;
  $("#compare-heading").textContent = t("compare.heading", { names: regions.map((r) => pick(r, "name")).join(t("sep")) });
  const head = el("tr", {}, el("th", { className: "corner", text: t("compare.indicator"), attrs: { scope: "col" } }));
  regions.forEach((r) => {
    const meta = [t("level." + r.level)];
    if (r.level === "county" && r.city) meta.push(pick(r, "city"));
    const open = el("button", { className: "link-btn", text: pick(r, "name"), attrs: { type: "button", title: t("compare.openProfile") } });
    open.addEventListener("click", () => { closeCompare(); select(r.level === "city" ? "cities" : "counties", r.adcode, { fly: true }); });
    head.appendChild(el("th", { attrs: { scope: "col" }, dataset: { testid: "compare-column", adcode: r.adcode } },
      open, el("span", { className: "cmp-meta", text: meta.join(" · ") }),
      el("button", {
        className: "chip-remove", text: "×",
        attrs: { type: "button", "aria-label": t("compare.remove.title", { name: pick(r, "name") }), title: t("compare.remove.title", { name: pick(r, "name") }) },
        on: { click: () => removeFromCompare(r.adcode) },
      })));
  });
  const tbody = el("tbody");
  // Designations
  const des = el("tr", { dataset: { testid: "compare-designations" } }, el("th", { text: t("popup.designations"), attrs: { scope: "row" } }));
  regions.forEach((r) => {
    const td = el("td");
    if (!r.designations.length) td.appendChild(el("span", { className: "muted", text: t("popup.noDesignation") }));
    r.designations.forEach((d) => td.appendChild(el("div", { className: "designation" },
      el("span", { className: "programme", text: pickOnly(d, "programme") || "—" }),
      d.year ? el("span", { className: "year", text: ` (${d.year})` }) : null, sourceLine(d))));
    des.appendChild(td);
  });
  tbody.appendChild(des);
  if (data.figures.length) { tbody.appendChild(sectionRow(t("popup.figures"), span)); factRows(tbody, data.figures, span); }
  if (data.facts.length) { tbody.appendChild(sectionRow(t("popup.facts"), span)); factRows(tbody, data.facts, span); }
  const sites = data.sites.filter((row) => row.cells.some((c) => c.count));
  tbody.appendChild(sectionRow(t("popup.sites"), span));
  if (!sites.length) tbody.appendChild(el("tr", {}, el("td", { className: "muted", text: t("compare.noSites"), attrs: { colspan: String(span) } })));
  sites.forEach((row) => {
    const tr = el("tr", { dataset: { testid: "compare-sites", layer: row.layer } },
      el("th", { text: store.has(row.layer) ? layerTitle(row.layer) : pick(row, "title"), attrs: { scope: "row" } }));
    row.cells.forEach((c) => tr.appendChild(el("td", {},
      el("span", { className: "cmp-count", text: t("compare.sites", { n: c.count }) }),
      c.sites.length ? el("ul", { className: "cmp-sites" }, c.sites.map((s) => el("li", { text: siteName(s) }))) : null)));
    tbody.appendChild(tr);
  });
  if (regions.some((r) => pickOnly(r, "summary"))) {
    tbody.appendChild(sectionRow(t("popup.summary"), span));
    const tr = el("tr", {}, el("th", { text: t("popup.summary"), attrs: { scope: "row" } }));
    regions.forEach((r) => tr.appendChild(el("td", {},
      el("p", { className: "summary", text: pickOnly(r, "summary") || "—" }), ...(pickOnly(r, "summary") ? r.summary_sources.map(sourceLine) : []))));
    tbody.appendChild(tr);
  }
  const table = el("table", { className: "compare-table", dataset: { testid: "compare-table" } },
    el("caption", { className: "visually-hidden", text: $("#compare-heading").textContent }), el("thead", {}, head), tbody);
  body.appendChild(el("div", { className: "compare-scroll" }, table));
  const shared = data.summary.shared_figures + data.summary.shared_facts;
  body.appendChild(el("p", { className: "muted cmp-foot", text: shared ? t("compare.shared", { n: shared }) : t("compare.noShared") }));
}

async function load() {
  const my = ++cmp.seq;
  cmp.data = null;
  renderView();
  try {
    const data = await fetchJSON(`/api/compare?ids=${cmp.ids.join(",")}`);
    if (my !== cmp.seq) return;
    cmp.data = data;
    data.regions.forEach((r) => cmp.names.set(r.adcode, { name: r.name, name_en: r.name_en }));
    renderTray();
  } catch (e) {
    if (my !== cmp.seq) return;
    clear($("#compare-body")).appendChild(el("p", { className: "error", text: t("compare.error") + t("colon") + e.message }));
    return;
  }
  renderView();
}

/** Open the compare view (a modal dialog: focus moves in, Tab stays inside, Esc closes and focus returns). */
export async function openCompare(opts) {
  if (cmp.ids.length < MIN_COMPARE) { showStatus(t("compare.needTwo"), "error"); return; }
  const dialog = $("#compare-dialog");
  cmp.opener = (opts && opts.opener) || document.activeElement;
  if (!dialog.open) { if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", ""); }
  cmp.open = true;
  updateHash();
  $("#compare-heading").focus();
  await load();
}

export function closeCompare() {
  const dialog = $("#compare-dialog");
  if (dialog.open) dialog.close(); else onClosed();
}
function onClosed() {
  if (!cmp.open) return;
  cmp.open = false;
  updateHash();
  const back = cmp.opener;
  cmp.opener = null;
  const target = back && back.isConnected && back.offsetParent !== null ? back : $("#compare-open");
  if (target && target.offsetParent !== null) target.focus({ preventScroll: true });
}

/** Rebuild the tray and the open view in the current language. */
export function refreshCompare() {
  renderTray();
  if (cmp.open) renderView();
}

export function initCompare() {
  const dialog = $("#compare-dialog");
  $("#compare-open").addEventListener("click", (e) => openCompare({ opener: e.currentTarget }));
  $("#compare-clear").addEventListener("click", () => clearCompare());
  $("#compare-close").addEventListener("click", () => closeCompare());
  $("#compare-print").addEventListener("click", () => $("#compare-pdf").click());
  // Esc closes the view only (not the profile sheet under it).
  dialog.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); closeCompare(); } });
  dialog.addEventListener("close", onClosed);
  document.addEventListener("kechuang:lang", refreshCompare);
  registerHashPart("cmp", () => (cmp.ids.length ? cmp.ids.join(",") : null), async (value) => {
    const want = (value || "").split(",").filter(comparable).filter((c, i, a) => a.indexOf(c) === i).slice(0, MAX_COMPARE);
    if (want.join(",") === cmp.ids.join(",")) return;
    cmp.ids = want;
    await Promise.all(want.map(regionName));
    renderTray();
    if (cmp.open && want.length >= MIN_COMPARE) load();
    else if (cmp.open) closeCompare();
  });
  registerHashPart("cmpv", () => (cmp.open ? "1" : null), async (value) => {
    if (value === "1" && cmp.ids.length >= MIN_COMPARE && !cmp.open) await openCompare({ opener: $("#compare-open") });
    else if (value !== "1" && cmp.open) closeCompare();
  });
  renderTray();
}
