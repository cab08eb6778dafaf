/* Switching the language: every piece of UI the map built is rebuilt in the new one. */
import { I18N, t } from "./i18n.js";
import { state, ctx, isRegions } from "./state.js";
import { rebuildLabels } from "./labels.js";
import { buildLayerControl } from "./control.js";
import { buildTableSelect, setTableLayer } from "./table.js";
import { buildBasemapControl, updateDatumControl } from "./basemaps.js";
import { renderLegend } from "./legend.js";
import { renderExport } from "./export.js";
import { refreshProfile } from "./popups.js";
import { restyleAll } from "./styles.js";
import { syncPanelToggle } from "./panel.js";
import { updateHash } from "./urlstate.js";
import { renderTimeline } from "./timeline.js";
import { renderImportLanguage } from "./import.js";
import { renderAccount } from "./account.js";
import { renderThematic } from "./thematic.js";

export function setLang(lang) {
  I18N.setLang(lang);
  if (!ctx.map) return;
  rebuildLabels();
  buildLayerControl();
  buildTableSelect();
  buildBasemapControl();
  renderLegend();
  renderExport();
  setTableLayer(state.tableLayer);
  updateDatumControl();
  if (ctx.zoomControl) { ctx.map.removeControl(ctx.zoomControl); }
  ctx.zoomControl = L.control.zoom({ position: "topright", zoomInTitle: t("zoom.in"), zoomOutTitle: t("zoom.out") }).addTo(ctx.map);
  if (ctx.search) ctx.search.rerender();
  state.visible.forEach((id) => { if (!isRegions(id)) restyleAll(id); }); // markers' names follow the language
  refreshProfile();
  renderThematic();
  syncPanelToggle();
  renderTimeline();
  renderImportLanguage();
  renderAccount();
  updateHash();
  document.dispatchEvent(new CustomEvent("kechuang:lang")); // features built outside this file rebuild themselves
}
