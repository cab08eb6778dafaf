/* The side panel: collapsible on wide screens, a drawer over the map on narrow ones. */
import { NARROW } from "./config.js";
import { $ } from "./dom.js";
import { ctx } from "./state.js";

export function syncPanelToggle() {
  const open = NARROW.matches ? document.body.classList.contains("panel-open") : !document.body.classList.contains("panel-collapsed");
  const btn = $("#panel-toggle");
  btn.setAttribute("aria-expanded", open ? "true" : "false");
  $("#backdrop").hidden = !(NARROW.matches && open);
}
export function togglePanel(force) {
  if (NARROW.matches) {
    const wasOpen = document.body.classList.contains("panel-open");
    const open = force !== undefined ? force : !wasOpen;
    document.body.classList.toggle("panel-open", open);
    if (open && !wasOpen) setTimeout(() => $("#panel-close").focus({ preventScroll: true }), 50);
    if (!open && wasOpen && document.activeElement && $("#side-panel").contains(document.activeElement)) $("#panel-toggle").focus();
  } else {
    const collapsed = force !== undefined ? !force : !document.body.classList.contains("panel-collapsed");
    document.body.classList.toggle("panel-collapsed", collapsed);
    setTimeout(() => ctx.map.invalidateSize(), 260);
  }
  syncPanelToggle();
}
export function closeDrawerOnNarrow() { if (NARROW.matches && document.body.classList.contains("panel-open")) togglePanel(false); }
export function initPanel() {
  $("#panel-toggle").addEventListener("click", () => togglePanel());
  $("#panel-close").addEventListener("click", () => togglePanel(false));
  $("#backdrop").addEventListener("click", () => togglePanel(false));
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && NARROW.matches && document.body.classList.contains("panel-open")) { e.preventDefault(); togglePanel(false); }
  });
  const onChange = () => { document.body.classList.remove("panel-open"); syncPanelToggle(); if (ctx.map) ctx.map.invalidateSize(); };
  if (NARROW.addEventListener) NARROW.addEventListener("change", onChange); else NARROW.addListener(onChange);
  syncPanelToggle();
}
