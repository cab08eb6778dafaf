/* Map labels: region names (cities, counties) and the zones of science-city layouts with their layout's slogan,
 * each shown from the zoom the style table gives (`labels`). */
import { el } from "./dom.js";
import { t, pick } from "./i18n.js";
import { labelPoint, toLatLng } from "./geometry.js";
import { state, store, ctx, fidOf } from "./state.js";
import { labelMinZoom, labelRules } from "./styles.js";

export const labelGroups = { cities: L.layerGroup(), counties: L.layerGroup(), zones: L.layerGroup() };

/** Labels of the visible science-city layouts: "role · name" per zone (the core's on its top edge, clear of the
 * parts drawn inside it) and, over each layout, its parent and slogan. Lower-priority labels that would collide
 * with one already placed are hidden. */
function addZoneLabels(z) {
  const rules = labelRules("science-city-zones");
  const e = store.get("science-city-zones");
  if (!e || !state.visible.has("science-city-zones")) return;
  const anchors = rules.anchor || {};
  const layouts = new Map(); // parent id -> {bounds, props}
  if (z >= labelMinZoom("science-city-zones")) {
    e.features.forEach((f) => {
      const p = f.properties || {};
      const lyr = e.index.get(fidOf(f));
      if (!lyr || !lyr.getBounds) return;
      const b = lyr.getBounds();
      const top = anchors[p.role] === "top";
      const at = top ? L.latLng(b.getNorth(), b.getCenter().lng) : toLatLng(labelPoint(f.geometry));
      const text = rules.role_prefix && p.role ? `${t("role." + p.role)} · ${pick(p, "name")}` : pick(p, "name");
      const span = el("span", { text, dataset: { testid: "zone-label", zone: fidOf(f), role: p.role || "" } });
      L.marker(at, {
        icon: L.divIcon({ html: span, className: `map-label zone-label role-${p.role || "zone"}` + (top ? " at-top" : ""), iconSize: null }),
        interactive: false, keyboard: false, pane: "p-labels", zIndexOffset: top ? 1000 : 0,
      }).addTo(labelGroups.zones);
    });
  }
  if (z >= (Number.isFinite(rules.slogan_min_zoom) ? rules.slogan_min_zoom : Infinity)) {
    e.features.forEach((f) => {
      const p = f.properties || {};
      const lyr = e.index.get(fidOf(f));
      if (!p.parent || !lyr || !lyr.getBounds) return;
      const l = layouts.get(p.parent) || { bounds: L.latLngBounds(lyr.getBounds().getSouthWest(), lyr.getBounds().getNorthEast()), props: p };
      l.bounds.extend(lyr.getBounds());
      layouts.set(p.parent, l);
    });
    layouts.forEach((l, parent) => {
      const slogan = l.props[rules.slogan_field || "parent_layout"];
      const name = pick({ name: l.props.parent_name, name_en: l.props.parent_name_en }, "name") || parent;
      const box = el("span", { dataset: { testid: "layout-slogan", parent } },
        el("b", { text: name }), slogan ? el("em", { text: t("layout.slogan", { slogan }) }) : null);
      L.marker(L.latLng(l.bounds.getNorth(), l.bounds.getCenter().lng), {
        icon: L.divIcon({ html: box, className: "map-label layout-label", iconSize: null }),
        interactive: false, keyboard: false, pane: "p-labels", zIndexOffset: 2000,
      }).addTo(labelGroups.zones);
    });
  }
  hideCollisions(labelGroups.zones);
}

/** Place labels by priority (slogans, then cores, then the rest in layout order): each tries its own spot and a few
 * spots just above or below it; one that still overlaps a label placed before it is hidden. */
function hideCollisions(group) {
  const placed = [];
  const items = group.getLayers().map((m) => m.getElement()).filter(Boolean);
  const rank = (n) => (n.classList.contains("layout-label") ? 0 : n.classList.contains("at-top") ? 1 : 2);
  const free = (r) => !placed.some((q) => r.left < q.right && q.left < r.right && r.top < q.bottom && q.top < r.bottom);
  items.sort((a, b) => rank(a) - rank(b)).forEach((n) => {
    const span = n.firstElementChild || n;
    const shifts = rank(n) === 2 ? [0, 16, -16, 32, -32] : [0];
    const ok = shifts.some((dy) => {
      span.style.marginTop = dy ? dy + "px" : "";
      const r = span.getBoundingClientRect();
      if (!free(r)) return false;
      placed.push(r);
      return true;
    });
    if (!ok) span.style.marginTop = "";
    n.classList.toggle("label-hidden", !ok);
  });
}

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
  labelGroups.zones.clearLayers();
  if (!ctx.map.hasLayer(labelGroups.zones)) labelGroups.zones.addTo(ctx.map);
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
  addZoneLabels(z);
}
