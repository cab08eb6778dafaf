/* Page configuration (from the server's inline JSON) and fixed layout settings of the map. */

export const CONFIG = (() => {
  try { return JSON.parse(document.getElementById("config").textContent || "{}") || {}; } catch (e) { return {}; }
})();
export const BASEMAPS = Array.isArray(CONFIG.basemaps) ? CONFIG.basemaps.filter((b) => b && b.id && b.url) : [];

export const REGION_LAYERS_TOP_FIRST = ["pilot-counties", "counties", "cities", "province"];
export const EXPORT_FORMATS = ["geojson", "gpkg", "shp.zip", "kml", "csv", "html", "png", "pdf"];
export const PANES = { // z-index of each overlay pane (Leaflet's overlayPane is 400, markers 600, tooltips 650)
  counties: 402, "pilot-counties": 404, "science-city-zones": 406, cities: 408, user: 409, province: 410, corridors: 412,
};
export const NARROW = window.matchMedia("(max-width: 699px)");
