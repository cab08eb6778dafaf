/* "Import a list" (导入名单): a dialog that sends a file or pasted names to POST /api/imports, shows the
 * reconciliation report (counts, every row with its status, a small map of what matched), lets the editor
 * settle ambiguous and unmatched rows, and commits the list as a user layer, which then appears under
 * "My layers", switched on. Everything from the file is shown with textContent; every label is a key of i18n.js,
 * rebuilt when the language changes (`renderImportLanguage`). */
import { el, $, clear } from "./dom.js";
import { t } from "./i18n.js";
import { state, store } from "./state.js";
import { fetchJSON, showStatus } from "./net.js";
import { me } from "./account.js";
import { makeGroup, setLayerVisible } from "./layers.js";
import { buildLayerControl } from "./control.js";
import { buildTableSelect, setTableLayer } from "./table.js";
import { renderLegend } from "./legend.js";

const STATUSES = ["matched", "former", "ambiguous", "unmatched"];
const statusText = (s) => (STATUSES.includes(s) ? t("import.st." + s) : s);
let current = null; // the last report
let lastMessage = null; // {key, vars, kind} of a message written from i18n keys, so it follows the language
let previewMap = null;
let previewLayer = null;

function message(text, kind) {
  const p = $("#import-message");
  p.textContent = text || "";
  p.className = "import-message" + (kind ? " " + kind : "");
  lastMessage = null;
}
/** A message of ours (an i18n key), rewritten when the language changes; server messages stay as they came. */
function say(key, kind, vars) {
  message(t(key, vars), kind);
  lastMessage = { key, kind, vars };
}

function fillColumnSelect(sel, columns, chosen, blankText) {
  clear(sel);
  sel.appendChild(el("option", { text: blankText, attrs: { value: "" } }));
  columns.forEach((c) => sel.appendChild(el("option", { text: c, attrs: { value: c } })));
  sel.value = chosen && columns.includes(chosen) ? chosen : "";
}

async function post(url, body, json) {
  const headers = { Accept: "application/json" };
  if (me.csrf) headers["X-CSRFToken"] = me.csrf;
  if (json) headers["Content-Type"] = "application/json";
  const res = await fetch(url, { method: "POST", headers, body: json ? JSON.stringify(body) : body, credentials: "same-origin" });
  let data = null;
  try { data = await res.json(); } catch (e) { data = null; }
  return { status: res.status, ok: res.ok, data: data || {} };
}

async function check() {
  const file = $("#import-file").files[0];
  const text = $("#import-text").value;
  if (!file && !text.trim()) { say("import.need", "error"); return; }
  const form = new FormData();
  if (file) form.append("file", file); else form.append("text", text);
  const fields = { name_column: "#import-name-column", lon: "#import-lon", lat: "#import-lat" };
  Object.entries(fields).forEach(([k, sel]) => { const v = $(sel).value; if (v) form.append(k, v); });
  form.append("datum", $("#import-datum").value);
  if ($("#import-title").value.trim()) form.append("title", $("#import-title").value.trim());
  say("import.checking");
  $("#import-check").disabled = true;
  let r;
  try { r = await post("/api/imports", form, false); } catch (e) { r = { ok: false, data: { error: String(e) } }; }
  $("#import-check").disabled = false;
  if (!r.ok) { message(r.data.error || `HTTP ${r.status}`, "error"); return; }
  current = r.data;
  message("");
  renderReport(current);
}

function candidateSelect(item) {
  const options = item.status === "ambiguous" ? item.candidates : item.suggestions;
  const sel = el("select", { className: "import-choice", attrs: { "data-row": String(item.row), "data-testid": "import-choice-" + item.row,
    "aria-label": t("import.rowLabel", { row: item.row, input: item.input }) } });
  sel.appendChild(el("option", { text: t("import.choose"), attrs: { value: "" } }));
  (options || []).forEach((c) => {
    const where = [c.province, c.city].filter(Boolean).join(" ");
    sel.appendChild(el("option", { text: `${c.name}${where ? " · " + where : ""} (${c.adcode})`, attrs: { value: c.adcode } }));
  });
  sel.appendChild(el("option", { text: t("import.skip"), attrs: { value: "skip" } }));
  return sel;
}

/** The counts and rows of a report; `keep` (a language switch) keeps what the editor chose in the dialog. */
function renderReport(rep, keep) {
  $("#import-report").hidden = false;
  const counts = clear($("#import-counts"));
  counts.appendChild(el("li", { className: "count-rows", text: t("import.rows", { n: rep.rows }) }));
  Object.entries(rep.counts).forEach(([k, n]) => counts.appendChild(el("li", { className: "count-" + k, text: t("import.count", { label: statusText(k), n }) })));
  const cols = rep.file_columns || [];
  const chosen = (sel, fallback) => (keep ? $(sel).value : fallback);
  fillColumnSelect($("#import-name-column"), cols, chosen("#import-name-column", rep.columns && rep.columns.name), t("import.auto"));
  fillColumnSelect($("#import-lon"), cols, chosen("#import-lon", rep.columns && rep.columns.lon), "—");
  fillColumnSelect($("#import-lat"), cols, chosen("#import-lat", rep.columns && rep.columns.lat), "—");
  if (!keep && rep.columns && rep.columns.datum) $("#import-datum").value = rep.columns.datum;
  const picked = {};
  if (keep) document.querySelectorAll("#import-rows select.import-choice").forEach((s) => { picked[s.dataset.row] = s.value; });
  if (!$("#import-title").value.trim()) $("#import-title").value = rep.title || "";
  const body = clear($("#import-rows"));
  rep.items.forEach((item) => {
    let result;
    if (item.status === "matched" || item.status === "former") {
      result = el("span", {}, `${item.name || ""} (${item.adcode || ""})`,
        item.note ? el("small", { className: "import-note", text: item.note }) : null);
    } else {
      result = candidateSelect(item);
    }
    body.appendChild(el("tr", { className: "st-" + item.status, dataset: { row: String(item.row) } },
      el("td", { text: item.row }), el("td", { text: item.input }),
      el("td", {}, el("span", { className: "import-status st-" + item.status, text: statusText(item.status) })),
      el("td", {}, result)));
    if (picked[item.row] && result.tagName === "SELECT") result.value = picked[item.row];
  });
  if (!keep) renderPreview(rep.preview);
}

/** After a language switch: the report, the column choices' blank entries and our own messages, in the new one. */
export function renderImportLanguage() {
  if (current && !$("#import-report").hidden) renderReport(current, true);
  else ["#import-name-column"].forEach((s) => { const o = $(s) && $(s).querySelector('option[value=""]'); if (o) o.textContent = t("import.auto"); });
  if (lastMessage) say(lastMessage.key, lastMessage.kind, lastMessage.vars);
}

function renderPreview(fc) {
  const box = $("#import-preview");
  if (!previewMap) {
    previewMap = L.map(box, { zoomControl: false, attributionControl: false, scrollWheelZoom: false });
    previewLayer = L.geoJSON(null, {
      style: () => ({ color: "#c0392b", weight: 1, fillColor: "#e67e22", fillOpacity: 0.45 }),
      pointToLayer: (f, latlng) => L.circleMarker(latlng, { radius: 4, color: "#c0392b", weight: 1, fillOpacity: 0.8 }),
    }).addTo(previewMap);
  }
  previewMap.invalidateSize();
  previewLayer.clearLayers();
  if (fc && fc.features && fc.features.length) {
    previewLayer.addData(fc);
    previewMap.fitBounds(previewLayer.getBounds(), { padding: [8, 8], animate: false });
  } else {
    previewMap.setView([29.15, 120.1], 6);
  }
  box.dataset.count = String((fc && fc.features && fc.features.length) || 0);
}

async function save() {
  if (!current) return;
  const resolutions = {};
  document.querySelectorAll("#import-rows select.import-choice").forEach((sel) => { if (sel.value) resolutions[sel.dataset.row] = sel.value; });
  const title = $("#import-title").value.trim() || current.title;
  $("#import-save").disabled = true;
  let r;
  try { r = await post(`/api/imports/${encodeURIComponent(current.import_id)}/commit`, { title, resolutions }, true); } catch (e) {
    r = { ok: false, data: { error: String(e) } };
  }
  $("#import-save").disabled = false;
  if (!r.ok) {
    const rows = r.data.rows ? ` (${r.data.rows.join(", ")})` : "";
    message((r.data.error || `HTTP ${r.status}`) + rows, "error");
    (r.data.rows || []).forEach((row) => { const tr = document.querySelector(`#import-rows tr[data-row="${row}"]`); if (tr) tr.classList.add("needs-choice"); });
    return;
  }
  closeDialog();
  await addUserLayer(r.data.layer);
  showStatus(t("import.saved", { title }));
}

/** Reload the catalog, add the new layers' groups, rebuild the layer control and switch `id` on. */
export async function addUserLayer(id) {
  const catalog = await fetchJSON("/api/layers");
  state.layers = catalog.layers || [];
  state.layers.forEach((m) => {
    state.meta.set(m.id, m);
    if (!store.has(m.id)) store.set(m.id, makeGroup(m.id));
  });
  buildLayerControl();
  buildTableSelect();
  await setLayerVisible(id, true);
  setTableLayer(id);
  buildLayerControl();
  renderLegend();
  const entry = store.get(id);
  if (entry && entry.group.getBounds && entry.group.getLayers().length) {
    window.kechuang.map.fitBounds(entry.group.getBounds(), { padding: [20, 20], maxZoom: 11 });
  }
}

function reset() {
  current = null;
  $("#import-form").reset();
  ["#import-name-column", "#import-lon", "#import-lat"].forEach((s) => fillColumnSelect($(s), [], null, s === "#import-name-column" ? t("import.auto") : "—"));
  clear($("#import-rows"));
  clear($("#import-counts"));
  $("#import-report").hidden = true;
  message("");
}

function openDialog() {
  reset();
  $("#import-dialog").showModal();
  $("#import-file").focus();
}
function closeDialog() { $("#import-dialog").close(); $("#import-open").focus(); }

export function initImport() {
  const dlg = $("#import-dialog");
  if (!dlg) return;
  $("#import-open").addEventListener("click", openDialog);
  $("#import-close").addEventListener("click", closeDialog);
  $("#import-check").addEventListener("click", check);
  $("#import-save").addEventListener("click", save);
  $("#import-file").addEventListener("change", () => {
    ["#import-name-column", "#import-lon", "#import-lat"].forEach((s) => { $(s).value = ""; });
    const f = $("#import-file").files[0];
    if (f) { $("#import-title").value = f.name.replace(/\.[^.]+$/, ""); check(); }
  });
  const drop = $("#import-drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault();
    drop.classList.remove("over");
    if (e.dataTransfer && e.dataTransfer.files.length) {
      $("#import-file").files = e.dataTransfer.files;
      $("#import-file").dispatchEvent(new Event("change"));
    }
  });
}
