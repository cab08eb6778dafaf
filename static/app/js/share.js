/* Share and embed: a dialog with the link of the current view (the permalink: layers, selection, view and every
 * registered part such as filter, thematic map, comparison, year), a "cite this view" text for reports (title,
 * URL, data date, version) and an <iframe> snippet of the embeddable view (/embed, no side panel). Copy buttons
 * use the Clipboard API, else select the read-only field's text for Ctrl+C. In the embedded view itself, a small
 * "open full map" link leads to the same view on the full page. */
import { CONFIG } from "./config.js";
import { $ } from "./dom.js";
import { t, pick } from "./i18n.js";
import { state, ctx, store, layerTitle } from "./state.js";
import { hashString } from "./urlstate.js";

const today = () => new Date().toISOString().slice(0, 10);
const origin = () => window.location.origin;

/** The full page's link for the current view. */
export function shareUrl() { return `${origin()}/#${hashString()}`; }
/** The embeddable view's link for the current view. */
export function embedUrl() { return `${origin()}/embed#${hashString()}`; }

/** What the view shows, in words: the selected place, else the visible data layers. */
function viewTitle() {
  const s = state.selected;
  if (s && store.has(s.layer)) {
    const lyr = store.get(s.layer).index.get(s.id);
    const name = lyr && lyr.feature && pick(lyr.feature.properties || {}, "name");
    if (name) return name;
  }
  const context = ["province", "cities", "counties"];
  const shown = state.layers.filter((m) => state.visible.has(m.id) && !context.includes(m.id)).map((m) => layerTitle(m.id));
  if (!shown.length) return "";
  return shown.length > 3 ? shown.slice(0, 3).join(t("sep")) + t("share.more", { n: shown.length - 3 }) : shown.join(t("sep"));
}

/** "科创地图：<view>. <URL>. 数据日期 …，版本 …. 访问于 …" in the current language. */
export function citeText(url) {
  const title = viewTitle();
  const version = CONFIG.version ? `v${CONFIG.version}` : "";
  const revision = CONFIG.revision ? t("share.revision", { n: CONFIG.revision }) : "";
  return t("share.citeFormat", {
    app: t("app.title"),
    view: title ? t("share.viewSep") + title : "",
    url,
    date: CONFIG.data_date || "",
    version: version + revision,
    today: today(),
  });
}

export function iframeSnippet(url) {
  const title = t("app.title").replace(/"/g, "&quot;");
  const src = url.replace(/&/g, "&amp;").replace(/"/g, "&quot;");
  return `<iframe src="${src}" title="${title}" width="800" height="560" loading="lazy" referrerpolicy="strict-origin-when-cross-origin"></iframe>`;
}

/** Copy a read-only field's text: the Clipboard API, else the old copy command; if both fail the text stays
 * selected and the message says to press Ctrl+C. */
async function copyField(field, message) {
  field.focus();
  field.select();
  let ok = false;
  try {
    if (navigator.clipboard && window.isSecureContext) { await navigator.clipboard.writeText(field.value); ok = true; }
  } catch (e) { ok = false; }
  if (!ok) { try { ok = document.execCommand("copy"); } catch (e) { ok = false; } }
  message.textContent = ok ? t("share.copied") : t("share.copyManual");
  return ok;
}

function fill() {
  const url = shareUrl();
  $("#share-link").value = url;
  $("#share-cite").value = citeText(url);
  $("#share-embed").value = iframeSnippet(embedUrl());
  $("#share-message").textContent = "";
}

let opener = null;
export function openShare() {
  const dialog = $("#share-dialog");
  opener = document.activeElement;
  fill();
  if (typeof dialog.showModal === "function") dialog.showModal(); else dialog.setAttribute("open", "");
  $("#share-link").focus();
  $("#share-link").select();
}

export function initShare() {
  const dialog = $("#share-dialog");
  const message = $("#share-message");
  $("#share-open").addEventListener("click", openShare);
  $("#share-close").addEventListener("click", () => dialog.close());
  [["#share-copy-link", "#share-link"], ["#share-copy-cite", "#share-cite"], ["#share-copy-embed", "#share-embed"]]
    .forEach(([btn, field]) => $(btn).addEventListener("click", () => copyField($(field), message)));
  dialog.addEventListener("keydown", (e) => { if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); dialog.close(); } });
  dialog.addEventListener("close", () => {
    const back = opener && opener.isConnected && opener.offsetParent !== null ? opener : $("#share-open");
    back.focus({ preventScroll: true });
    opener = null;
  });
  document.addEventListener("kechuang:lang", () => { if (dialog.open) fill(); });
}

/** The embedded view: its "open full map" link follows the view. */
export function initEmbed() {
  if (!CONFIG.embed) return;
  const link = $("#embed-open");
  link.hidden = false;
  const sync = () => { link.href = shareUrl(); link.textContent = t("embed.open"); };
  ["moveend", "zoomend"].forEach((ev) => ctx.map.on(ev, sync));
  link.addEventListener("focus", sync);
  link.addEventListener("mouseenter", sync);
  document.addEventListener("kechuang:lang", sync);
  sync();
}
