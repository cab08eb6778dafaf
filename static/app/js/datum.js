/* GCJ-02 offsets (for display alignment with GCJ-02 tile base maps only); the same formulas as geo/datum.py. */

function gcjOffset(lon, lat) {
  const A = 6378245.0, EE = 0.00669342162296594323, PI = Math.PI;
  const x = lon - 105.0, y = lat - 35.0;
  let dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x))
    + (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0
    + (20.0 * Math.sin(y * PI) + 40.0 * Math.sin(y / 3.0 * PI)) * 2.0 / 3.0
    + (160.0 * Math.sin(y / 12.0 * PI) + 320 * Math.sin(y * PI / 30.0)) * 2.0 / 3.0;
  let dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x))
    + (20.0 * Math.sin(6.0 * x * PI) + 20.0 * Math.sin(2.0 * x * PI)) * 2.0 / 3.0
    + (20.0 * Math.sin(x * PI) + 40.0 * Math.sin(x / 3.0 * PI)) * 2.0 / 3.0
    + (150.0 * Math.sin(x / 12.0 * PI) + 300.0 * Math.sin(x / 30.0 * PI)) * 2.0 / 3.0;
  const rad = lat / 180.0 * PI;
  const magic = 1 - EE * Math.sin(rad) * Math.sin(rad);
  const sq = Math.sqrt(magic);
  dlat = (dlat * 180.0) / ((A * (1 - EE)) / (magic * sq) * PI);
  dlon = (dlon * 180.0) / (A / sq * Math.cos(rad) * PI);
  return [dlon, dlat];
}
export function inChina(lon, lat) { return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271; }
/** WGS-84 → GCJ-02, [lat, lon] in and out. */
export function wgsToGcj(lat, lon) {
  if (!inChina(lon, lat)) return [lat, lon];
  const [dx, dy] = gcjOffset(lon, lat);
  return [lat + dy, lon + dx];
}
/** GCJ-02 → WGS-84 by fixed-point iteration, [lat, lon] in and out. */
export function gcjToWgs(lat, lon) {
  let wlat = lat, wlon = lon;
  for (let i = 0; i < 4; i++) {
    const [glat, glon] = wgsToGcj(wlat, wlon);
    wlat -= glat - lat; wlon -= glon - lon;
  }
  return [wlat, wlon];
}
