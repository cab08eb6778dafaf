/* The year control: show the map as of a year (GET …?as_of=<year>). Records of later years are left out, records
 * without a year stay, drawn as the style table's `undated` state says, and a line counts them. Part of the
 * permalink (`y=<year>`). */
import { el, $, clear } from "./dom.js";
import { t } from "./i18n.js";
import { state, store } from "./state.js";
import { fetchJSON } from "./net.js";
import { ensureData } from "./layers.js";
import { renderLegend } from "./legend.js";
import { setTableLayer } from "./table.js";
import { refreshProfile } from "./popups.js";
import { registerHashPart, updateHash } from "./urlstate.js";

let years = [];

/** The `as_of` query parameter for the current year ("" for all years). */
export function asOfParam() { return state.asOf === null ? "" : String(state.asOf); }

function fillOptions() {
  const sel = $("#year-select");
  if (!sel) return;
  const all = [...new Set([...years, ...(state.asOf === null ? [] : [state.asOf])])].sort((a, b) => a - b);
  clear(sel).appendChild(el("option", { text: t("time.all"), attrs: { value: "" } }));
  all.forEach((y) => sel.appendChild(el("option", { text: t("time.year", { year: y }), attrs: { value: String(y) } })));
  sel.value = asOfParam();
}

/** The line under the control: as of which year, how many records of later years are hidden, how many have no year. */
export function renderYearNote() {
  const note = $("#year-note");
  if (!note) return;
  if (state.asOf === null) { note.textContent = ""; note.hidden = true; return; }
  let undated = 0, later = 0;
  state.visible.forEach((id) => {
    const entry = store.get(id);
    const fc = entry && entry.key ? entry.cache.get(entry.key) : null;
    const info = fc && fc.timeline;
    if (!info || !info.dated) return;
    undated += info.no_year || 0;
    later += info.left_out || 0;
  });
  note.hidden = false;
  note.textContent = [t("time.later", { year: state.asOf, n: later }), t("time.noYear", { n: undated })].join(" ");
}

/** Show the map as of `year` (null: all years): the visible layers are fetched again and redrawn. */
export async function setYear(year, opts) {
  const y = year === null || year === undefined || year === "" ? null : Number(year);
  if (y !== null && !Number.isInteger(y)) return;
  if (y === state.asOf) return;
  state.asOf = y;
  fillOptions();
  await Promise.all([...state.visible].map((id) => ensureData(id).catch(() => null)));
  renderLegend();
  renderYearNote();
  setTableLayer(state.tableLayer);
  refreshProfile();
  if (!(opts && opts.silent)) updateHash();
}

/** Build the control (in the side panel, above the legend), then fetch the years the data carries. */
export function initTimeline() {
  const legend = $("#h-legend");
  const before = legend ? legend.closest("section") : null;
  const sel = el("select", { attrs: { id: "year-select", "data-testid": "year-select" } });
  const box = el("section", { className: "panel-section year-section", attrs: { "aria-labelledby": "h-year" } },
    el("h2", { attrs: { id: "h-year", "data-i18n": "section.time" }, text: t("section.time") }),
    el("div", { className: "year-row" },
      el("label", { attrs: { for: "year-select", "data-i18n": "time.label" }, text: t("time.label") }), sel),
    el("p", { className: "hint year-note", attrs: { id: "year-note", role: "status", "aria-live": "polite", "data-testid": "year-note" } }));
  if (before && before.parentNode) before.parentNode.insertBefore(box, before);
  registerHashPart("y", () => (state.asOf === null ? null : String(state.asOf)), async (value) => {
    const y = value === undefined || value === "" ? null : parseInt(value, 10);
    if (y !== null && (!Number.isInteger(y) || String(y) !== value)) return;
    await setYear(y, { silent: true });
  });
  sel.addEventListener("change", () => setYear(sel.value === "" ? null : sel.value));
  fillOptions();
  renderYearNote();
  fetchJSON("/api/timeline").then((body) => {
    years = Array.isArray(body && body.years) ? body.years.filter(Number.isInteger) : [];
    fillOptions();
  }).catch(() => null);
}

/** After a language switch: the options and the note in the new language. */
export function renderTimeline() { fillOptions(); renderYearNote(); }
