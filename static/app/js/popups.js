/* Selection and profiles: highlight a feature everywhere, fly to it, and show its profile in a side sheet
 * (a bottom drawer on phones) with readable sources, both languages kept apart, and conflicts between sources. */
import { REGION_LAYERS_TOP_FIRST, NARROW } from "./config.js";
import { el, $, clear, fmtValue } from "./dom.js";
import { I18N, t, pick, pickOnly } from "./i18n.js";
import { labelPoint, toLatLng } from "./geometry.js";
import { fetchJSON, showStatus } from "./net.js";
import { state, store, profiles, ctx, isRegions, fidOf, layerTitle } from "./state.js";
import { restyleAll } from "./styles.js";
import { ensureData, setLayerVisible, bringIntoView } from "./layers.js";
import { syncTableSelection } from "./table.js";
import { hashString, updateHash } from "./urlstate.js";
import { closeDrawerOnNarrow } from "./panel.js";
import { fillUserRow } from "./userrow.js";
import { compareButton, comparable } from "./compare.js";

export function featureLatLng(lyr) {
  if (lyr instanceof L.Marker) return lyr.getLatLng();
  return toLatLng(labelPoint(lyr.feature.geometry)) || lyr.getBounds().getCenter();
}

/** How much of the map the open sheet covers: {tl, br} paddings in pixels (left on desktop, bottom on phones). */
function sheetInsets() {
  const none = { tl: L.point(0, 0), br: L.point(0, 0) };
  const sheet = $("#profile-sheet");
  if (!sheet || sheet.hidden) return none;
  const m = ctx.map.getContainer().getBoundingClientRect();
  const s = sheet.getBoundingClientRect();
  if (NARROW.matches) {
    const h = Math.max(s.height, parseFloat(getComputedStyle(sheet).maxHeight) || 0);
    return { tl: L.point(0, 0), br: L.point(0, Math.max(0, Math.min(m.height * 0.7, m.bottom - (window.innerHeight - h)))) };
  }
  return { tl: L.point(Math.max(0, Math.min(m.width * 0.6, s.right - m.left)), 0), br: L.point(0, 0) };
}

export function flyToFeature(id, lyr) {
  let center, zoom;
  const ins = sheetInsets();
  if (lyr instanceof L.Marker) {
    zoom = Math.max(ctx.map.getZoom(), 12);
    // Put the marker in the middle of the part of the map the sheet leaves free.
    const shift = ins.tl.subtract(ins.br).divideBy(2);
    center = ctx.map.unproject(ctx.map.project(lyr.getLatLng(), zoom).subtract(shift), zoom);
  } else {
    const maxZoom = isRegions(id) ? (lyr.feature.properties.level === "city" ? 9 : 10) : 13;
    const target = ctx.map._getBoundsCenterZoom(lyr.getBounds(), {
      maxZoom, paddingTopLeft: ins.tl.add([30, 30]), paddingBottomRight: ins.br.add([30, 30]),
    });
    center = target.center;
    zoom = target.zoom;
  }
  return new Promise((resolve) => {
    let done = false, calling = true;
    const finish = () => { if (!done) { done = true; ctx.map.off("moveend", onEnd); resolve(); } };
    // Stopping a running pan fires moveend synchronously inside flyTo: ignore that one.
    const onEnd = () => { if (!calling) finish(); };
    ctx.map.on("moveend", onEnd);
    setTimeout(finish, 3000);
    ctx.map.flyTo(center, zoom, { duration: 0.8 });
    calling = false;
    const c = ctx.map.getCenter();
    if (Math.abs(ctx.map.getZoom() - zoom) < 1e-6 && Math.abs(c.lat - center.lat) < 1e-7 && Math.abs(c.lng - center.lng) < 1e-7) finish();
  });
}

/** Pan just enough that a point is not hidden under the sheet. */
function keepClearOfSheet(latlng) {
  const ins = sheetInsets();
  if (!latlng || (ins.tl.x === 0 && ins.br.y === 0)) return;
  ctx.map.panInside(latlng, { paddingTopLeft: ins.tl.add([24, 24]), paddingBottomRight: ins.br.add([24, 24]) });
}

/**
 * Select a feature: highlight it (on every layer that shows it), open its profile, sync the table and the URL.
 * opts: fly (move the map to it), latlng (the clicked point), popup (default true: open the profile),
 * noHash, autoPan (false: leave the view exactly as it is), focus (false: leave keyboard focus where it is).
 */
export async function select(id, fid, opts) {
  opts = opts || {};
  fid = String(fid);
  const opener = document.activeElement; // before restyling replaces a focused marker's element
  if (!store.has(id)) return false;
  if (!state.visible.has(id)) await setLayerVisible(id, true, { silent: true });
  let entry;
  try { entry = await ensureData(id); } catch (e) { return false; }
  let lyr = entry.index.get(fid) || await bringIntoView(id, fid);
  if (!lyr) { showStatus(t("status.loadError", { what: `${layerTitle(id)}: ${fid}` }), "error"); return false; }
  const prev = state.selected;
  state.selected = { layer: id, id: fid };
  [prev && prev.layer, id].concat(REGION_LAYERS_TOP_FIRST).forEach((lid) => {
    if (lid && store.has(lid) && store.get(lid).features.length) restyleAll(lid);
  });
  syncTableSelection({ fromTable: opts.fromTable, follow: !opts.fromTable });
  if (!opts.noHash) updateHash();
  const show = opts.popup !== false;
  if (show) openProfile(id, fid, { opener, focus: opts.focus });
  if (opts.fly) {
    await flyToFeature(id, lyr);
    lyr = store.get(id).index.get(fid) || lyr; // boundaries may have been refetched for the new zoom
  } else if (show && opts.autoPan !== false) {
    keepClearOfSheet(opts.latlng || featureLatLng(lyr));
  }
  return true;
}

export function clearSelection() {
  if (!state.selected) return;
  const prev = state.selected;
  state.selected = null;
  [prev.layer].concat(REGION_LAYERS_TOP_FIRST).forEach((lid) => { if (store.has(lid)) restyleAll(lid); });
  syncTableSelection();
  updateHash();
}

// ------------------------------------------------------------------ the profile sheet
let current = null; // {id, fid, token, opener}
let token = 0;

/** True while a profile is shown. */
export const profileOpen = () => current !== null;

/** Where focus goes back to when the sheet closes: the list row, search box, marker… that opened it. */
function openerOf(node, id, fid) {
  const sheet = $("#profile-sheet");
  if (!node || node === document.body || node === document.documentElement || sheet.contains(node)) return { node: null };
  if (node.classList && node.classList.contains("leaflet-marker-icon")) return { node, layer: id, fid };
  return { node };
}

function restoreFocus(opener) {
  let node = opener && opener.node;
  if (opener && opener.layer) { // markers get a new element when restyled: focus today's one
    const lyr = store.has(opener.layer) && store.get(opener.layer).index.get(opener.fid);
    node = (lyr && lyr.getElement && lyr.getElement()) || null;
  }
  if (!node || !node.isConnected || node.offsetParent === null) node = ctx.map.getContainer();
  node.focus({ preventScroll: true });
}

/** Show the profile of one feature in the sheet; focus moves to its title unless opts.focus is false. */
export function openProfile(id, fid, opts) {
  opts = opts || {};
  const sheet = $("#profile-sheet");
  const opener = current && !sheet.hidden ? current.opener : openerOf(opts.opener, id, fid);
  current = { id, fid: String(fid), token: ++token, opener };
  sheet.hidden = false;
  sheet.dataset.feature = `${id}:${fid}`;
  document.body.classList.add("sheet-open");
  renderProfile();
  if (opts.focus !== false) $("#profile-title").focus({ preventScroll: true });
}

/** Close the sheet (and clear the selection); focus returns to what opened it. */
export function closeProfile(opts) {
  opts = opts || {};
  const sheet = $("#profile-sheet");
  if (!current) return;
  const was = current;
  const focusInside = sheet.contains(document.activeElement) || document.activeElement === document.body;
  current = null;
  token++;
  sheet.hidden = true;
  delete sheet.dataset.feature;
  document.body.classList.remove("sheet-open");
  clear($("#profile-body"));
  $("#profile-title").textContent = "";
  if (!opts.keepSelection) clearSelection();
  if (opts.restoreFocus !== false && focusInside) restoreFocus(was.opener);
}

/** Rebuild the open profile (after a language switch or new data), keeping focus where it is. */
export function refreshProfile() {
  if (current) renderProfile();
}

export function initProfileSheet() {
  $("#profile-close").addEventListener("click", () => closeProfile());
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || !current || e.defaultPrevented) return;
    const results = $("#search-results");
    if (results && !results.hidden && e.target.closest && e.target.closest(".search")) return; // closes the list first
    e.preventDefault();
    closeProfile();
  });
  ctx.map.on("click", () => closeProfile({ restoreFocus: false }));
}

function renderProfile() {
  const { id, fid, token: tok } = current;
  const body = clear($("#profile-body"));
  const title = $("#profile-title");
  const box = el("div", { className: "popup-profile", dataset: { testid: "popup-profile", feature: `${id}:${fid}` } });
  body.appendChild(box);
  body.scrollTop = 0;
  const lyr = store.has(id) && store.get(id).index.get(fid);
  if (!lyr) { title.textContent = fid; return; }
  if (isRegions(id)) fillRegionProfile(box, title, id, fid, tok);
  else if ((state.meta.get(id) || {}).kind === "user") {
    const p = lyr.feature.properties || {};
    title.textContent = p.name || String(fid);
    fillUserRow(box, id, lyr.feature);
  } else fillSiteProfile(box, title, id, lyr.feature, tok);
}

// ------------------------------------------------------------------ pieces of a profile
/** "《title》（doc number）第49行" / "title (doc number), lines 44–45"; never the file name. */
export function sourceText(ref) {
  if (!ref) return "";
  const en = I18N.lang === "en";
  const title = en ? ref.title_en : ref.title;
  const [a, b] = Array.isArray(ref.lines) ? ref.lines : [];
  let where = "";
  if (a) where = b && b !== a ? (en ? `lines ${a}–${b}` : `第${a}–${b}行`) : (en ? `line ${a}` : `第${a}行`);
  const doc = ref.doc_number ? (en ? ` (${ref.doc_number})` : `（${ref.doc_number}）`) : "";
  const name = title ? (en ? `${title}${doc}` : `《${title}》${doc}`) : t("source.untitled");
  return where ? (en ? `${name}, ${where}` : `${name} ${where}`) : name;
}
/** One source line; the file it cites is kept in a data attribute only. */
function sourceItem(label, ref) {
  return el("li", { className: "source", dataset: { file: ref.file || "", lines: (ref.lines || []).join("-") } },
    label ? el("span", { className: "source-label", text: label + t("colon") }) : null, sourceText(ref));
}
/** The folded "来源 / Sources" list: one line per cited thing, in the order the profile shows them. */
function sourcesBlock(items) {
  const list = items.filter((it) => it && it.ref);
  if (!list.length) return null;
  return el("details", { className: "pp-sources", dataset: { testid: "profile-sources" } },
    el("summary", { text: t("popup.sources.count", { n: list.length }) }),
    el("ol", {}, list.map((it) => sourceItem(it.label, it.ref))));
}

const CJK = /[\u3400-\u9fff\uf900-\ufaff]/;
/** A unit in the current language: unit_en in English (empty = no unit), never a Chinese unit there. */
function unitText(obj) {
  if (I18N.lang !== "en") return obj.unit || "";
  if (obj.unit_en !== undefined && obj.unit_en !== null) return obj.unit_en;
  return obj.unit && !CJK.test(obj.unit) ? obj.unit : "";
}
/** The value and its unit (a span of its own), or null in English when the value is Chinese text. */
function valueNode(obj) {
  if (I18N.lang === "en" && typeof obj.value === "string" && CJK.test(obj.value)) return null; // no English text
  const u = unitText(obj);
  return el("span", { className: "fig-value" }, fmtValue(obj.value),
    u ? el("span", { className: "fig-unit", text: /^[%‰℃°]/.test(u) ? u : " " + u }) : null);
}
function statusBadge(f) {
  if (!f.status || f.status === "reported") return null;
  const label = t("fact.status." + f.status) + (f.period ? ` ${f.period}` : "");
  return el("span", { className: `badge status status-${f.status}`, text: label, dataset: { testid: "fact-status" } });
}
function yearText(y) { return I18N.lang === "en" ? String(y) : `${y}年`; }

/** Facts as a table: label | value unit [status] year, then the note and any other source's value. */
function factTable(rows) {
  const tbody = el("tbody");
  rows.forEach((f) => {
    const value = valueNode(f);
    const td = el("td", {},
      value === null ? el("span", { className: "fig-value untranslated", text: t("fact.untranslated") }) : value,
      statusBadge(f),
      f.year ? el("span", { className: "fig-year", text: yearText(f.year) }) : null,
      f.year_known === false ? el("span", { className: "fig-year no-year", text: t("time.yearUnknown") }) : null);
    const note = pickOnly(f, "note");
    if (note) td.appendChild(el("span", { className: "fig-note", text: note }));
    (f.alternatives || []).forEach((a) => {
      const av = valueNode(a);
      const src = sourceText(a.source_ref);
      const open = I18N.lang === "en" ? " (" : "（", close = I18N.lang === "en" ? ")" : "）";
      td.appendChild(el("span", { className: "fig-alt", dataset: { testid: "fact-alternative", file: (a.source_ref || {}).file || "" } },
        el("span", { className: "source-label", text: t("popup.altSource") + t("colon") }),
        av === null ? t("fact.untranslated") : av, a.year ? " · " + yearText(a.year) : "", src ? open + src + close : ""));
      const an = pickOnly(a, "note");
      if (an) td.appendChild(el("span", { className: "fig-note", text: an }));
    });
    tbody.appendChild(el("tr", {}, el("th", { text: pickOnly(f, "label") || "—", attrs: { scope: "row" } }), td));
  });
  return el("table", { className: "figures" }, tbody);
}
function factSources(rows) {
  const out = [];
  rows.forEach((f) => {
    const label = pickOnly(f, "label") || "—";
    out.push({ label, ref: f.source_ref });
    (f.alternatives || []).forEach((a) => out.push({ label: `${label} · ${t("popup.altSource")}`, ref: a.source_ref }));
  });
  return out;
}

/** Where sources disagree: topic, note, and every source named. */
function conflictsSection(conflicts) {
  if (!Array.isArray(conflicts) || !conflicts.length) return null;
  return el("section", { className: "pp-section pp-conflicts", dataset: { testid: "profile-conflicts" } },
    el("h4", { text: t("popup.conflicts") }),
    el("ul", { className: "conflicts" }, conflicts.map((c) => el("li", { className: "conflict" },
      el("p", { className: "conflict-topic", text: pickOnly(c, "topic") || "—" }),
      pickOnly(c, "note") ? el("p", { className: "conflict-note", text: pickOnly(c, "note") }) : null,
      el("ul", { className: "conflict-sources" }, (c.source_refs || []).filter(Boolean).map((r) => sourceItem(null, r)))))));
}
function conflictSources(conflicts) {
  const out = [];
  (conflicts || []).forEach((c) => (c.source_refs || []).forEach((r) => out.push({ label: pickOnly(c, "topic") || t("popup.conflicts"), ref: r })));
  return out;
}

function featureLink(layerId, fid, label, extraClass) {
  const a = el("a", {
    className: "feature-link" + (extraClass ? " " + extraClass : ""), text: label,
    attrs: { href: "#" + hashString({ s: `${layerId}:${fid}` }) },
    dataset: { layer: layerId, fid: String(fid), testid: "feature-link" },
  });
  a.addEventListener("click", (e) => { e.preventDefault(); select(layerId, fid, { fly: true }); closeDrawerOnNarrow(); });
  return a;
}
function section(title, ...children) {
  return el("section", { className: "pp-section" }, el("h4", { text: title }), ...children);
}

async function fillRegionProfile(box, title, id, adcode, tok) {
  const f = store.get(id).index.get(adcode).feature;
  const p = f.properties || {};
  title.textContent = pick(p, "name");
  box.appendChild(el("p", { className: "loading", text: t("popup.loading") }));
  const asOf = state.asOf === null ? "" : `?as_of=${state.asOf}`;
  const key = adcode + asOf; // the profile as of the map's year (timeline.js)
  let prof = profiles.get(key);
  if (!prof) {
    try { prof = await fetchJSON(`/api/regions/${encodeURIComponent(adcode)}${asOf}`); profiles.set(key, prof); } catch (e) {
      if (!current || current.token !== tok) return;
      clear(box).appendChild(el("p", { className: "error", text: t("popup.error") + t("colon") + e.message }));
      return;
    }
  }
  if (!current || current.token !== tok) return;
  clear(box);
  renderRegionProfile(box, title, prof, id);
}

function renderRegionProfile(box, title, prof, id) {
  title.textContent = pick(prof, "name");
  const isPilot = (prof.designations || []).length > 0 || id === "pilot-counties";
  const head = el("header", { className: "pp-head" });
  const meta = [t("level." + prof.level)];
  if (prof.level === "county" && prof.city) meta.push(pick(prof, "city"));
  const metaP = el("p", { className: "pp-meta", text: meta.join(" · ") });
  if (isPilot && (prof.designations || []).length) metaP.appendChild(el("span", { className: "badge pilot", text: t("popup.pilot") }));
  head.appendChild(metaP);
  if (comparable(prof.adcode) && (prof.level === "county" || prof.level === "city")) {
    head.appendChild(el("p", { className: "pp-actions" }, compareButton(prof.adcode, pick(prof, "name"))));
  }
  box.appendChild(head);
  const cited = [];

  const des = prof.designations || [];
  box.appendChild(section(t("popup.designations"), des.length
    ? el("ul", { className: "designations" }, des.map((d) => el("li", { className: "designation" },
      el("span", { className: "programme", text: pickOnly(d, "programme") || "—" }),
      d.year ? el("span", { className: "year", text: ` (${d.year})` }) : null)))
    : el("p", { className: "muted", text: t("popup.noDesignation") })));
  des.forEach((d) => cited.push({ label: t("popup.designation"), ref: d.source_ref }));
  const later = (prof.timeline && prof.timeline.later_designations) || [];
  if (later.length) {
    box.appendChild(el("p", { className: "muted time-later", dataset: { testid: "profile-later" },
      text: t("time.laterDesignations", { year: prof.timeline.as_of, names: later.map((d) => `${pickOnly(d, "programme") || d.programme} (${d.year})`).join(t("sep")) }) }));
  }

  if ((prof.figures || []).length) box.appendChild(section(t("popup.figures"), factTable(prof.figures)));
  if ((prof.facts || []).length) box.appendChild(section(t("popup.facts"), factTable(prof.facts)));
  cited.push(...factSources(prof.figures || []), ...factSources(prof.facts || []));
  const summary = pickOnly(prof, "summary");
  if (summary) box.appendChild(section(t("popup.summary"), el("p", { className: "summary", text: summary })));
  if (summary) (prof.summary_source_refs || []).forEach((r) => cited.push({ label: t("popup.summary"), ref: r }));
  const note = pickOnly(prof, "location_note");
  if (note) box.appendChild(section(t("popup.location"), el("p", { className: "muted location-note", text: note })));
  const conf = conflictsSection(prof.conflicts);
  if (conf) box.appendChild(conf);
  cited.push(...conflictSources(prof.conflicts));

  const sites = prof.sites || {};
  const siteLists = Object.keys(sites).filter((k) => Array.isArray(sites[k]) && sites[k].length);
  if (siteLists.length) {
    box.appendChild(section(t("popup.sites"), siteLists.map((lid) => el("div", { className: "site-group" },
      el("h5", { text: layerTitle(lid) }),
      el("ul", { className: "site-links" }, sites[lid].map((s) => el("li", {},
        store.has(lid) ? featureLink(lid, s.id, siteName(lid, s)) : el("span", { text: siteName(lid, s) }),
        s.kind ? el("span", { className: "fig-meta", text: t("kind." + s.kind) }) : null)))))));
  }
  if (prof.level === "city" && (prof.counties || []).length) {
    box.appendChild(section(t("popup.counties"), el("ul", { className: "county-links" }, prof.counties.map((c) =>
      el("li", {}, featureLink(c.pilot && store.has("pilot-counties") && state.visible.has("pilot-counties") ? "pilot-counties" : "counties", c.adcode, pick(c, "name")),
        c.pilot ? el("span", { className: "badge pilot", text: t("popup.pilot") }) : null)))));
  }
  if (prof.level === "county" && prof.city_adcode && store.has("cities")) {
    box.appendChild(el("p", { className: "pp-foot" }, featureLink("cities", prof.city_adcode, `${t("popup.openCity")}${t("colon")}${pick(prof, "city")}`)));
  }
  const src = sourcesBlock(cited);
  if (src) box.appendChild(src);
}

/** "滨江区，杭州市" / "Binjiang District, Hangzhou": English names come from the county's profile. */
function whereText(p, done) {
  if (I18N.lang !== "en") return [p.county, p.city].filter(Boolean).join("，");
  const code = p.county_adcode;
  const fromProfile = (prof) => [prof.name_en, prof.city_en].filter(Boolean).join(", ");
  if (!code) return "";
  if (profiles.has(code)) return fromProfile(profiles.get(code));
  fetchJSON(`/api/regions/${encodeURIComponent(code)}`).then((prof) => { profiles.set(code, prof); done(fromProfile(prof)); }).catch(() => {});
  return "";
}

function fillSiteProfile(box, title, id, f, tok) {
  const p = f.properties || {};
  title.textContent = pick(p, "name") || p.name;
  const head = el("header", { className: "pp-head" });
  const other = I18N.lang === "en" ? p.name : p.name_en;
  if (other && other !== pick(p, "name")) head.appendChild(el("p", { className: "pp-alt", text: other, attrs: { lang: I18N.lang === "en" ? "zh-CN" : "en" } }));
  const meta = [t("kind." + (p.kind || "other"))];
  if (p.role) meta.push(t("role." + p.role));
  const metaP = el("p", { className: "pp-meta" });
  const metaText = document.createTextNode("");
  metaP.appendChild(metaText);
  const setMeta = (where) => { metaText.textContent = meta.concat(where ? [where] : []).join(" · "); };
  setMeta(whereText(p, (w) => { if (current && current.token === tok) setMeta(w); }));
  if (p.schematic) metaP.appendChild(el("span", { className: "badge schematic", text: t("popup.schematic") }));
  head.appendChild(metaP);
  box.appendChild(head);
  const cited = [];

  if (p.parent) {
    const parentLayer = findLayerOf(p.parent) || "science-cities";
    const parentName = nameOf(parentLayer, p.parent) || p.parent;
    box.appendChild(el("p", { className: "pp-parent" }, el("span", { text: t("popup.parent") + t("colon") }), featureLink(parentLayer, p.parent, parentName)));
  }
  const d = p.designation;
  if (d && (d.programme || d.programme_en)) {
    box.appendChild(section(t("popup.designation"), el("p", { className: "designation" },
      el("span", { className: "programme", text: pickOnly(d, "programme") || "—" }),
      d.year ? el("span", { className: "year", text: ` (${d.year})` }) : null)));
    cited.push({ label: t("popup.designation"), ref: d.source_ref });
  }
  const summary = pickOnly(p, "summary");
  if (summary) {
    box.appendChild(section(t("popup.summary"), el("p", { className: "summary", text: summary })));
    cited.push({ label: t("popup.summary"), ref: p.summary_source_ref });
  }
  if (Array.isArray(p.facts) && p.facts.length) {
    box.appendChild(section(t("popup.facts"), factTable(p.facts)));
    cited.push(...factSources(p.facts));
  }
  const conf = conflictsSection(p.conflicts);
  if (conf) box.appendChild(conf);
  cited.push(...conflictSources(p.conflicts));

  // A science city lists the zones of its layout (loaded on demand, not shown on the map unless toggled).
  const sourcesAt = el("div", { className: "pp-sources-slot" });
  if (id === "science-cities" && store.has("science-city-zones")) {
    const holder = el("div");
    box.appendChild(holder);
    ensureData("science-city-zones").then((e) => {
      if (!current || current.token !== tok) return;
      const zones = e.features.filter((z) => z.properties && z.properties.parent === fidOf(f))
        .sort((a, b) => (a.properties.order || 0) - (b.properties.order || 0));
      if (!zones.length) return;
      holder.appendChild(section(t("popup.layout"), el("ul", { className: "site-links" }, zones.map((z) => el("li", {},
        featureLink("science-city-zones", fidOf(z), pick(z.properties, "name")),
        z.properties.role ? el("span", { className: "fig-meta", text: t("role." + z.properties.role) }) : null)))));
    }).catch(() => {});
  }
  if (p.layout_source_ref) cited.push({ label: t("popup.layout"), ref: p.layout_source_ref });

  const loc = [];
  if (p.precision) loc.push(el("p", {}, el("span", { className: "source-label", text: t("popup.precision") + t("colon") }), t("precision." + p.precision)));
  const note = pickOnly(p, "location_note");
  if (note) loc.push(el("p", { className: "muted location-note", text: note, dataset: { testid: "location-note" } }));
  if (p.schematic) loc.push(el("p", { className: "muted", text: t("popup.schematic.note") }));
  if (p.county_adcode && store.has("counties")) {
    const link = featureLink("counties", p.county_adcode, I18N.lang === "en" ? "—" : (p.county || p.county_adcode));
    if (I18N.lang === "en") {
      const set = (w) => { link.textContent = w.split(", ")[0] || "—"; };
      const w = whereText(p, (x) => { if (current && current.token === tok) set(x); });
      if (w) set(w);
    }
    loc.push(el("p", {}, el("span", { className: "source-label", text: t("popup.county") + t("colon") }), link));
  }
  if (loc.length) box.appendChild(section(t("popup.location"), loc));
  box.appendChild(sourcesAt);
  const src = sourcesBlock(cited);
  if (src) sourcesAt.appendChild(src);
}

/** Display name of a site listed in a profile (in the chosen language). */
function siteName(lid, s) {
  return nameOf(lid, s.id) || pick(s, "name") || s.id;
}
function findLayerOf(fid) {
  for (const [lid, e] of store) if (!isRegions(lid) && e.index.has(String(fid))) return lid;
  return null;
}
function nameOf(lid, fid) {
  const e = store.get(lid);
  const l = e && e.index.get(String(fid));
  return l ? pick(l.feature.properties, "name") : null;
}
