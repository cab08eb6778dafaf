/* Plane geometry on GeoJSON coordinates: ring area and centroid, a good label point inside a polygon. */

function ringArea(r) {
  let a = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) a += (r[j][0] + r[i][0]) * (r[j][1] - r[i][1]);
  return Math.abs(a / 2);
}
function ringCentroid(r) {
  let a = 0, cx = 0, cy = 0;
  for (let i = 0, j = r.length - 1; i < r.length; j = i++) {
    const f = r[j][0] * r[i][1] - r[i][0] * r[j][1];
    a += f; cx += (r[j][0] + r[i][0]) * f; cy += (r[j][1] + r[i][1]) * f;
  }
  if (!a) return r[0];
  return [cx / (3 * a), cy / (3 * a)];
}
/** A point well inside a polygon for labels and popups: widest horizontal span near the centroid. */
export function labelPoint(geom) {
  if (!geom) return null;
  if (geom.type === "Point") return geom.coordinates;
  if (geom.type === "LineString") return geom.coordinates[Math.floor(geom.coordinates.length / 2)];
  if (geom.type === "MultiLineString") return geom.coordinates[0][Math.floor(geom.coordinates[0].length / 2)];
  let poly = null;
  if (geom.type === "Polygon") poly = geom.coordinates;
  else if (geom.type === "MultiPolygon") {
    let best = -1;
    geom.coordinates.forEach((p) => { const a = ringArea(p[0]); if (a > best) { best = a; poly = p; } });
  }
  if (!poly || !poly[0] || !poly[0].length) return null;
  const outer = poly[0];
  let minY = Infinity, maxY = -Infinity;
  outer.forEach((p) => { if (p[1] < minY) minY = p[1]; if (p[1] > maxY) maxY = p[1]; });
  const c = ringCentroid(outer);
  const h = maxY - minY;
  let best = null;
  [[c[1], 1.25], [minY + 0.5 * h, 1], [minY + 0.38 * h, 1], [minY + 0.62 * h, 1]].forEach(([y, weight]) => {
    const xs = [];
    poly.forEach((ring) => {
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const [x1, y1] = ring[j], [x2, y2] = ring[i];
        if ((y1 > y) !== (y2 > y)) xs.push(x1 + (y - y1) * (x2 - x1) / (y2 - y1));
      }
    });
    xs.sort((a, b) => a - b);
    for (let k = 0; k + 1 < xs.length; k += 2) {
      const w = (xs[k + 1] - xs[k]) * weight;
      if (!best || w > best.w) best = { w, p: [(xs[k] + xs[k + 1]) / 2, y] };
    }
  });
  return best ? best.p : c;
}
export const toLatLng = (p) => (p ? L.latLng(p[1], p[0]) : null);
