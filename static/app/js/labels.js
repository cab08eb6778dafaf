/* Region name labels (cities, counties), shown from the zoom the style table gives. */
import { el } from "./dom.js";
import { pick } from "./i18n.js";
import { labelPoint, toLatLng } from "./geometry.js";
import { state, store, ctx } from "./state.js";
import { labelMinZoom } from "./styles.js";

export const labelGroups = { cities: L.layerGroup(), counties: L.layerGroup() };

/* A layer with more features than LABELS_MAX (all of China's counties or cities) is labelled only where the
 * view is, at most LABELS_MAX names; smaller layers are labelled whole, as before. */
const LABELS_MAX = 250;
const points = new WeakMap(); // feature -> label point, computed once per feature object
function pointOf(feature) {
  if (!points.has(feature)) points.set(feature, labelPoint(feature.geometry));
  return points.get(feature);
}
function labelled(features) {
  if (features.length <= LABELS_MAX) return features;
  const view = ctx.map.getBounds();
  const out = [];
  for (const f of features) {
    const p = pointOf(f);
    if (p && view.contains(toLatLng(p))) out.push(f);
    if (out.length >= LABELS_MAX) break;
  }
  return out;
}

export function rebuildLabels() {
  if (!ctx.map) return;
  const z = ctx.map.getZoom();
  labelGroups.cities.clearLayers();
  labelGroups.counties.clearLayers();
  const add = (group, cls, feature) => {
    const p = pointOf(feature);
    if (!p) return;
    const span = el("span", { text: pick(feature.properties, "name") });
    L.marker(toLatLng(p), {
      icon: L.divIcon({ html: span, className: "map-label " + cls, iconSize: null }),
      interactive: false, keyboard: false, pane: "p-labels",
    }).addTo(group);
  };
  if (state.visible.has("cities") && z >= labelMinZoom("cities")) {
    const e = store.get("cities");
    if (e) labelled(e.features).forEach((f) => add(labelGroups.cities, "city-label", f));
  }
  if (z >= labelMinZoom("counties")) {
    const src = state.visible.has("counties") ? "counties" : (state.visible.has("pilot-counties") ? "pilot-counties" : null);
    if (src) labelled(store.get(src).features).forEach((f) => add(labelGroups.counties, "county-label" + (f.properties.pilot || src === "pilot-counties" ? " pilot" : ""), f));
  }
}
