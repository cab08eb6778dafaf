/* The print dialog: prints the current view (its extent, the visible layers) as a PNG or PDF map made on the
 * server (/export/<layer>.<png|pdf>), with a title, paper, orientation and resolution the user chooses.
 * A native <dialog> opened modally: focus moves into it, Tab stays inside, Esc closes it and focus returns. */
import { $, clear } from "./dom.js";
import { I18N, t } from "./i18n.js";
import { state, ctx, layerTitle } from "./state.js";
import { gcjToWgs } from "./datum.js";
import { showStatus } from "./net.js";
import { thematicParams, thematicTitle } from "./thematic.js";

/** Region layers printed as context under the data (outlines, names), top first. */
const CONTEXT = ["province", "cities", "counties"];
let titleEdited = false;

const today = () => new Date().toISOString().slice(0, 10);
const round = (v) => Math.round(v * 1e5) / 1e5;

/** The current view's extent in WGS-84 [minLon, minLat, maxLon, maxLat] (a GCJ-02 view is converted back). */
export function viewBbox() {
  const b = ctx.map.getBounds();
  let sw = [b.getSouth(), b.getWest()];
  let ne = [b.getNorth(), b.getEast()];
  if (state.datum === "gcj02") { sw = gcjToWgs(sw[0], sw[1]); ne = gcjToWgs(ne[0], ne[1]); }
  return [round(Math.max(sw[1], -180)), round(Math.max(sw[0], -85)), round(Math.min(ne[1], 180)), round(Math.min(ne[0], 85))];
}

/** The visible layers split into the data to print (catalog order) and the context drawn underneath. */
export function printLayers() {
  const visible = state.layers.map((m) => m.id).filter((id) => state.visible.has(id));
  let data = visible.filter((id) => !CONTEXT.includes(id));
  let context = CONTEXT.filter((id) => state.visible.has(id));
  const theme = thematicParams(); // the thematic map's layer is the printed data, first, even a context layer
  if (theme && state.visible.has(theme.layer)) {
    data = [theme.layer, ...data.filter((id) => id !== theme.layer)];
    context = context.filter((id) => id !== theme.layer);
  }
  if (!data.length && context.length) data.push(context.pop()); // only outlines shown: print the finest
  return { data, context };
}

/** The /export URL for the current view and the dialog's choices. */
export function printUrl(choices) {
  const { data, context } = printLayers();
  if (!data.length) return null;
  const params = new URLSearchParams();
  if (data.length > 1) params.set("layers", data.slice(1).join(","));
  params.set("over", context.join(","));
  params.set("bbox", viewBbox().join(","));
  params.set("size", choices.size);
  params.set("orientation", choices.orientation);
  params.set("dpi", String(choices.dpi));
  if (choices.title) params.set("title", choices.title);
  params.set("lang", I18N.lang); // legend, scale and footer in the language of the page
  if (state.asOf !== null) params.set("as_of", String(state.asOf)); // the map as of the year shown
  const theme = thematicParams();
  if (theme && data.includes(theme.layer)) {
    params.set("thematic", theme.thematic);
    params.set("thematic_layer", theme.layer);
  }
  return `/export/${encodeURIComponent(data[0])}.${choices.format}?${params.toString()}`;
}

function choices() {
  return {
    title: $("#print-title").value.trim(),
    size: $("#print-size").value,
    orientation: $("#print-orientation").value,
    dpi: Number($("#print-dpi").value),
    format: $("#print-format").value,
  };
}

function describe() {
  const { data, context } = printLayers();
  const bb = viewBbox();
  const summary = clear($("#print-summary"));
  const names = data.concat(context).map(layerTitle);
  summary.appendChild(document.createTextNode(`${t("print.layers")}${t("colon")}${names.length ? names.join(t("sep")) : t("print.none")}`));
  summary.appendChild(document.createElement("br"));
  summary.appendChild(document.createTextNode(`${t("print.extent")}${t("colon")}${bb[0].toFixed(3)}–${bb[2].toFixed(3)}°E, ${bb[1].toFixed(3)}–${bb[3].toFixed(3)}°N`));
  if (thematicParams() && data.includes(thematicParams().layer)) {
    summary.appendChild(document.createElement("br"));
    summary.appendChild(document.createTextNode(`${t("section.thematic")}${t("colon")}${layerTitle(thematicParams().layer)} · ${thematicTitle()}`));
  }
  $("#print-submit").disabled = !data.length;
}

export function openPrint() {
  const dialog = $("#print-dialog");
  if (!titleEdited) $("#print-title").value = `${t("app.title")} ${today()}`;
  describe();
  if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
  $("#print-title").focus();
}

export function initPrint() {
  const dialog = $("#print-dialog");
  const opener = $("#print-open");
  opener.addEventListener("click", openPrint);
  $("#print-title").addEventListener("input", () => { titleEdited = true; });
  $("#print-cancel").addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => opener.focus());
  $("#print-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const c = choices();
    const url = printUrl(c);
    if (!url) return;
    const link = $("#print-link");
    link.href = url;
    link.setAttribute("download", `${(c.title || "map").replace(/[\\/:*?"<>|]+/g, "_")}.${c.format}`);
    link.click();
    dialog.close();
    showStatus(t("print.started"));
  });
}
