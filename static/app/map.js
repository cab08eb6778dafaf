/* 科创地图 — the interactive map.
 *
 * Plain ES2017 on Leaflet 1.9 (vendored). No framework, no build step.
 * Rule: data from the API never becomes HTML. Everything shown is built with the DOM
 * (createElement + textContent); Leaflet popups/tooltips get DOM nodes, never strings.
 */
(function () {
  "use strict";

  const I18N = window.I18N;
  const t = I18N.t;
  const pick = I18N.pick;

  const CONFIG = (() => {
    try { return JSON.parse(document.getElementById("config").textContent || "{}") || {}; } catch (e) { return {}; }
  })();
  const BASEMAPS = Array.isArray(CONFIG.basemaps) ? CONFIG.basemaps.filter((b) => b && b.id && b.url) : [];

  const REGION_LAYERS_TOP_FIRST = ["pilot-counties", "counties", "cities", "province"];
  const EXPORT_FORMATS = ["geojson", "gpkg", "shp.zip", "kml", "csv", "html", "png", "pdf"];
  const PANES = { // z-index of each overlay pane (Leaflet's overlayPane is 400, markers 600, tooltips 650)
    counties: 402, "pilot-counties": 404, "science-city-zones": 406, cities: 408, province: 410, corridors: 412,
  };
  const LABEL_MIN_ZOOM = { cities: 7, counties: 9 };
  const NARROW = window.matchMedia("(max-width: 699px)");

  // ---------------------------------------------------------------- DOM helpers
  /** el("div", {className, text, title, dataset, attrs, on}, ...children): children may be nodes or text. */
  function el(tag, opts, ...children) {
    const node = document.createElement(tag);
    opts = opts || {};
    if (opts.className) node.className = opts.className;
    if (opts.text !== undefined && opts.text !== null) node.textContent = String(opts.text);
    if (opts.title) node.title = opts.title;
    if (opts.dataset) Object.entries(opts.dataset).forEach(([k, v]) => { node.dataset[k] = v; });
    if (opts.attrs) Object.entries(opts.attrs).forEach(([k, v]) => { if (v !== undefined && v !== null) node.setAttribute(k, v); });
    if (opts.on) Object.entries(opts.on).forEach(([k, v]) => node.addEventListener(k, v));
    children.flat().forEach((c) => {
      if (c === null || c === undefined || c === false) return;
      node.appendChild(typeof c === "string" || typeof c === "number" ? document.createTextNode(String(c)) : c);
    });
    return node;
  }
  const $ = (sel) => document.querySelector(sel);
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

  /** Only colours that look like colours reach a style attribute. */
  function safeColor(c, fallback) {
    return typeof c === "string" && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]{3,20})$/.test(c) ? c : fallback;
  }
  function safeDash(d) { return typeof d === "string" && /^[0-9 .,]+$/.test(d) ? d : null; }
  function cssId(id) { return String(id).replace(/[^A-Za-z0-9_-]/g, "_"); }
  function fmtValue(v) {
    if (typeof v === "number") return v.toLocaleString(I18N.lang === "en" ? "en-US" : "zh-CN", { maximumFractionDigits: 4 });
    return v === null || v === undefined ? "" : String(v);
  }

  // ---------------------------------------------------------------- GCJ-02 (for display alignment only)
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
  function inChina(lon, lat) { return lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271; }
  function wgsToGcj(lat, lon) {
    if (!inChina(lon, lat)) return [lat, lon];
    const [dx, dy] = gcjOffset(lon, lat);
    return [lat + dy, lon + dx];
  }
  function gcjToWgs(lat, lon) {
    let wlat = lat, wlon = lon;
    for (let i = 0; i < 4; i++) {
      const [glat, glon] = wgsToGcj(wlat, wlon);
      wlat -= glat - lat; wlon -= glon - lon;
    }
    return [wlat, wlon];
  }

  // ---------------------------------------------------------------- geometry helpers
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
  function labelPoint(geom) {
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
  const toLatLng = (p) => (p ? L.latLng(p[1], p[0]) : null);

  // ---------------------------------------------------------------- network
  let inflight = 0; // requests under way (tests wait for 0)
  async function fetchJSON(url) {
    inflight++;
    let res, body = null;
    try {
      res = await fetch(url, { headers: { Accept: "application/json" } });
      try { body = await res.json(); } catch (e) { body = null; }
    } finally { inflight--; }
    if (!res.ok) {
      const err = new Error((body && body.error) || `${res.status} ${res.statusText}`);
      err.status = res.status;
      throw err;
    }
    return body;
  }

  let statusTimer = null;
  function showStatus(text, kind) {
    const s = $("#status");
    s.textContent = text;
    s.className = "status visible" + (kind ? " " + kind : "");
    clearTimeout(statusTimer);
    statusTimer = setTimeout(() => { s.className = "status"; }, kind === "error" ? 7000 : 2500);
  }

  // ---------------------------------------------------------------- state
  const state = {
    layers: [],               // catalog from /api/layers, in catalog order
    meta: new Map(),          // id -> layer meta
    visible: new Set(),
    datum: "wgs84",
    basemap: "none",
    selected: null,           // {layer, id}
    tableLayer: "pilot-counties",
    ready: false,
  };
  const store = new Map();    // id -> {group: L.GeoJSON, index: Map(fid -> leaflet layer), features, key, cache, pending}
  const profiles = new Map(); // adcode -> profile JSON
  const labelGroups = { cities: L.layerGroup(), counties: L.layerGroup() };
  // Land under everything when there is no tile base map (from the province outline, once it is loaded).
  let landLayer = null;
  let map = null;
  let tileLayer = null;
  let currentPopup = null;
  let datumControl = null;
  let zoomControl = null;

  const isRegions = (id) => (state.meta.get(id) || {}).kind === "regions";
  const fidOf = (f) => String(f.id !== undefined && f.id !== null ? f.id
    : (f.properties && (f.properties.id || f.properties.adcode)));
  const layerTitle = (id) => { const m = state.meta.get(id); return m ? pick(m, "title") : id; };

  // ---------------------------------------------------------------- symbols and styles
  const SHAPES = {
    circle: (n) => svgEl("circle", { cx: 10, cy: 10, r: 6.5 }, n),
    square: (n) => svgEl("rect", { x: 4, y: 4, width: 12, height: 12, rx: 1 }, n),
    diamond: (n) => svgEl("polygon", { points: "10,1.5 18.5,10 10,18.5 1.5,10" }, n),
    star: (n) => svgEl("polygon", { points: "10,1 12.6,7.2 19.2,7.6 14.1,11.8 15.8,18.3 10,14.7 4.2,18.3 5.9,11.8 0.8,7.6 7.4,7.2" }, n),
    hexagon: (n) => svgEl("polygon", { points: "10,1.5 17.5,5.8 17.5,14.2 10,18.5 2.5,14.2 2.5,5.8" }, n),
    triangle: (n) => svgEl("polygon", { points: "10,2 18.5,17 1.5,17" }, n),
    "triangle-down": (n) => svgEl("polygon", { points: "1.5,3 18.5,3 10,18" }, n),
    pentagon: (n) => svgEl("polygon", { points: "10,1.8 18.3,7.8 15.1,17.6 4.9,17.6 1.7,7.8" }, n),
  };
  /** Symbol per site kind: [shape, hollow]. Layer style gives the colour. */
  const KIND_SYMBOL = {
    "innovation-base": ["star", false],
    "science-city": ["hexagon", false],
    "high-tech-zone": ["diamond", false],
    "national-high-tech-zone": ["diamond", false],
    "provincial-high-tech-zone": ["diamond", true],
    platform: ["square", false],
    "service-complex": ["triangle", false],
    "characteristic-town": ["circle", false],
    park: ["square", true],
    "new-area": ["pentagon", false],
    cbd: ["triangle-down", false],
    "pilot-county": ["circle", true],
    other: ["circle", true],
  };
  const ROLE_STYLE = {
    core: { color: "#08306b", fillColor: "#2166ac", fillOpacity: 0.38, dashArray: "6 3", weight: 2.6 },
    zone: { color: "#1f77b4", fillColor: "#6baed6", fillOpacity: 0.24, dashArray: "6 4", weight: 1.8 },
    park: { color: "#0e7c86", fillColor: "#7fd1c8", fillOpacity: 0.22, dashArray: "2 4", weight: 1.8 },
    block: { color: "#6a3d9a", fillColor: "#cab2d6", fillOpacity: 0.26, dashArray: "8 3 2 3", weight: 1.8 },
    axis: { color: "#b15928", fillColor: "#fdbf6f", fillOpacity: 0.2, dashArray: "10 4", weight: 1.8 },
    node: { color: "#33a02c", fillColor: "#b2df8a", fillOpacity: 0.25, dashArray: "3 3", weight: 1.8 },
  };

  function svgEl(tag, attrs, ns) {
    const n = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.entries(attrs).forEach(([k, v]) => n.setAttribute(k, v));
    if (ns) ns.appendChild(n);
    return n;
  }
  function symbolSvg(kind, color, size) {
    const [shape, hollow] = KIND_SYMBOL[kind] || ["circle", false];
    const svg = svgEl("svg", { viewBox: "0 0 20 20", width: size, height: size, "aria-hidden": "true", class: "sym sym-" + shape });
    const node = SHAPES[shape](svg);
    node.setAttribute("fill", hollow ? "#ffffff" : color);
    node.setAttribute("stroke", hollow ? color : "#ffffff");
    node.setAttribute("stroke-width", hollow ? "3" : "1.6");
    node.setAttribute("stroke-linejoin", "round");
    return svg;
  }
  function layerColor(id, fallback) {
    const m = state.meta.get(id);
    return safeColor(m && m.style && m.style.color, fallback || "#555555");
  }

  function regionStyle(id, feature, flags) {
    const st = (state.meta.get(id) || {}).style || {};
    const sel = flags && flags.selected, hover = flags && flags.hover;
    let s;
    if (id === "province") s = { color: safeColor(st.color, "#333"), weight: st.weight || 2.5, fill: false, opacity: 0.9 };
    else if (id === "cities") s = { color: safeColor(st.color, "#555"), weight: st.weight || 1.6, fill: true, fillOpacity: 0, opacity: 0.9 };
    else if (id === "counties") {
      s = { color: safeColor(st.color, "#8a8a8a"), weight: st.weight || 0.8, fillColor: safeColor(st.fill, "#f4f1ea"),
        fillOpacity: state.basemap === "none" ? 0.92 : 0.08, opacity: 0.95 };
    } else if (id === "pilot-counties") {
      s = { color: safeColor(st.color, "#c0392b"), weight: st.weight || 2, fillColor: safeColor(st.fill, "#e74c3c"),
        fillOpacity: 0.42, opacity: 1 };
    } else s = { color: safeColor(st.color, "#555"), weight: 1, fillOpacity: 0.2 };
    if (hover) {
      s.weight = (s.weight || 1) + 1.6;
      if (s.fill !== false && id !== "cities") s.fillOpacity = Math.min(1, (s.fillOpacity || 0) + 0.18);
      if (id === "counties" && state.basemap === "none") s.fillColor = "#fff6d6";
    }
    if (sel) { s.color = "#0b57d0"; s.weight = (s.weight || 1) + 2.4; s.opacity = 1; }
    return s;
  }
  function zoneStyle(id, feature, flags) {
    const p = feature.properties || {};
    const st = (state.meta.get(id) || {}).style || {};
    let s;
    if (id === "science-city-zones") s = Object.assign({}, ROLE_STYLE[p.role] || ROLE_STYLE.zone);
    else if (id === "corridors") {
      s = { color: safeColor(st.color, "#16a085"), weight: st.weight || 4, dashArray: safeDash(st.dash) || "10 6", opacity: 0.9, fill: false };
    } else s = { color: safeColor(st.color, "#555"), weight: 2, fillOpacity: 0.2, fillColor: safeColor(st.fill, st.color) };
    if (id !== "science-city-zones" && id !== "corridors" && (p.schematic || (state.meta.get(id) || {}).schematic)) s.dashArray = "6 4";
    if (flags && flags.hover) { s.weight += 1.5; if (s.fillOpacity !== undefined) s.fillOpacity = Math.min(0.7, s.fillOpacity + 0.15); }
    if (flags && flags.selected) { s.color = "#0b57d0"; s.weight += 2; }
    return s;
  }
  function styleFor(id, feature, flags) {
    return isRegions(id) ? regionStyle(id, feature, flags) : zoneStyle(id, feature, flags);
  }
  function siteIcon(id, feature, selected) {
    const p = feature.properties || {};
    const kind = p.kind || "other";
    const size = selected ? 28 : (kind === "national-high-tech-zone" || kind === "science-city" ? 22 : 19);
    const wrap = el("span", { className: "site-symbol" });
    wrap.appendChild(symbolSvg(kind, layerColor(id), size));
    return L.divIcon({
      html: wrap,
      className: `site-icon kc-feature lyr-${id} fid-${cssId(fidOf(feature))} kind-${cssId(kind)}` + (selected ? " selected" : ""),
      iconSize: [size, size],
      iconAnchor: [size / 2, size / 2],
      tooltipAnchor: [size / 2, 0],
      popupAnchor: [0, -size / 2],
    });
  }
  function isSelected(id, fid) {
    const s = state.selected;
    if (!s) return false;
    if (s.id !== fid) return false;
    if (s.layer === id) return true;
    return isRegions(s.layer) && isRegions(id); // same adcode on another region layer: highlight it too
  }
  function restyle(id, leafletLayer) {
    const f = leafletLayer.feature;
    const sel = isSelected(id, fidOf(f));
    if (leafletLayer instanceof L.Marker) leafletLayer.setIcon(siteIcon(id, f, sel));
    else {
      leafletLayer.setStyle(styleFor(id, f, { selected: sel }));
      if (sel && leafletLayer.bringToFront && leafletLayer._map) leafletLayer.bringToFront();
    }
  }
  function restyleAll(id) { const e = store.get(id); if (e) e.group.eachLayer((l) => restyle(id, l)); }

  // ---------------------------------------------------------------- layer data
  /** Boundaries are fetched simplified for a few zoom levels only (the server simplifies for `zoom`). */
  function zoomBucket(z) { return z < 8 ? 7 : z < 10 ? 9 : 11; }
  function dataKey(id) { return isRegions(id) ? `${state.datum}|z${zoomBucket(map.getZoom())}` : state.datum; }

  function makeGroup(id) {
    const meta = state.meta.get(id);
    const pane = PANES[id] ? "p-" + id : undefined;
    const opts = {
      style: (f) => styleFor(id, f, { selected: isSelected(id, fidOf(f)) }),
      pointToLayer: (f, latlng) => L.marker(latlng, { icon: siteIcon(id, f, isSelected(id, fidOf(f))), keyboard: true, riseOnHover: true }),
      onEachFeature: (f, lyr) => bindFeature(id, f, lyr),
    };
    if (pane) opts.pane = pane;
    if (id === "province") opts.interactive = false;
    const group = L.geoJSON(null, opts);
    group.on("add", () => { /* markers get their class from the icon; paths from the className below */ });
    return { group, index: new Map(), features: [], key: null, cache: new Map(), pending: null, pendingKey: null, meta };
  }

  function bindFeature(id, f, lyr) {
    const fid = fidOf(f);
    const entry = store.get(id);
    entry.index.set(fid, lyr);
    if (!(lyr instanceof L.Marker) && lyr.options) {
      lyr.options.className = `kc-feature lyr-${id} fid-${cssId(fid)}` + (f.properties && f.properties.schematic ? " schematic" : "");
    }
    if (id === "province") return;
    lyr.bindTooltip(() => tooltipContent(id, f), { sticky: !(lyr instanceof L.Marker), direction: "top", className: "kc-tooltip", opacity: 0.95 });
    lyr.on("mouseover", () => { if (!(lyr instanceof L.Marker)) lyr.setStyle(styleFor(id, f, { hover: true, selected: isSelected(id, fid) })); });
    lyr.on("mouseout", () => { if (!(lyr instanceof L.Marker)) lyr.setStyle(styleFor(id, f, { selected: isSelected(id, fid) })); });
    lyr.on("click", (e) => {
      if (e.originalEvent) L.DomEvent.stopPropagation(e);
      select(id, fid, { latlng: lyr instanceof L.Marker ? lyr.getLatLng() : e.latlng });
    });
    lyr.on("keypress", (e) => {
      const k = e.originalEvent && e.originalEvent.key;
      if (k === "Enter" || k === " ") select(id, fid, {});
    });
  }

  function tooltipContent(id, f) {
    const p = f.properties || {};
    const box = el("div", { className: "tt" });
    box.appendChild(el("strong", { text: pick(p, "name") || p.name || fidOf(f) }));
    const bits = [];
    if (isRegions(id)) {
      if (p.level === "county" && p.city) bits.push(pick(p, "city"));
      if (id === "pilot-counties" || p.pilot) bits.push(t("popup.pilot"));
    } else {
      if (p.kind) bits.push(t("kind." + p.kind));
      if (p.role) bits.push(t("role." + p.role));
      if (p.schematic) bits.push(t("popup.schematic"));
    }
    if (bits.length) box.appendChild(el("span", { className: "tt-meta", text: bits.join(" · ") }));
    return box;
  }

  function setData(id, fc) {
    const entry = store.get(id);
    entry.group.clearLayers();
    entry.index.clear();
    entry.features = (fc && Array.isArray(fc.features)) ? fc.features : [];
    entry.group.addData({ type: "FeatureCollection", features: entry.features });
    if (id === "cities" || id === "counties" || id === "pilot-counties") rebuildLabels();
    if (id === "province" && landLayer) { landLayer.clearLayers(); landLayer.addData({ type: "FeatureCollection", features: entry.features }); }
    if (state.selected) restyleAll(id);
  }

  /** Fetch (once per datum and zoom bucket) and install a layer's data; resolves to its store entry. */
  function ensureData(id) {
    const entry = store.get(id);
    if (!entry) return Promise.reject(new Error("unknown layer " + id));
    const key = dataKey(id);
    if (entry.key === key) return Promise.resolve(entry);
    if (entry.cache.has(key)) { setData(id, entry.cache.get(key)); entry.key = key; return Promise.resolve(entry); }
    if (entry.pending && entry.pendingKey === key) return entry.pending;
    const params = new URLSearchParams();
    if (isRegions(id)) params.set("zoom", String(zoomBucket(map.getZoom())));
    params.set("datum", state.datum);
    setLayerBusy(id, true);
    entry.pendingKey = key;
    const p = fetchJSON(`/api/layers/${encodeURIComponent(id)}?${params}`).then((fc) => {
      entry.cache.set(key, fc);
      if (entry.pendingKey === key) {
        setData(id, fc);
        entry.key = key;
        entry.pending = null; entry.pendingKey = null;
      }
      setLayerBusy(id, false);
      renderLegend();
      if (state.tableLayer === id && !entry.tableShown) renderTable();
      return entry;
    }, (err) => {
      entry.pending = null; entry.pendingKey = null;
      setLayerBusy(id, false, true);
      showStatus(t("status.loadError", { what: layerTitle(id) + " — " + err.message }), "error");
      throw err;
    });
    entry.pending = p;
    return p;
  }

  async function setLayerVisible(id, on, opts) {
    if (!store.has(id)) return;
    const entry = store.get(id);
    const cb = document.getElementById("lt-" + id);
    if (cb) cb.checked = !!on;
    if (on) {
      state.visible.add(id);
      if (!map.hasLayer(entry.group)) entry.group.addTo(map);
      updateInteractivity();
      rebuildLabels();
      renderLegend();
      if (!(opts && opts.silent)) updateHash();
      try { await ensureData(id); } catch (e) { /* reported */ }
    } else {
      state.visible.delete(id);
      if (map.hasLayer(entry.group)) map.removeLayer(entry.group);
      updateInteractivity();
      rebuildLabels();
      renderLegend();
      if (!(opts && opts.silent)) updateHash();
    }
  }

  /** City outlines take clicks only when no county layer is there to take them. */
  function updateInteractivity() {
    const countiesShown = state.visible.has("counties") || state.visible.has("pilot-counties");
    const pane = map.getPane("p-cities");
    if (pane) pane.classList.toggle("no-events", countiesShown);
  }

  // ---------------------------------------------------------------- labels
  function rebuildLabels() {
    if (!map) return;
    const z = map.getZoom();
    labelGroups.cities.clearLayers();
    labelGroups.counties.clearLayers();
    const add = (group, cls, feature) => {
      const p = labelPoint(feature.geometry);
      if (!p) return;
      const span = el("span", { text: pick(feature.properties, "name") });
      L.marker(toLatLng(p), {
        icon: L.divIcon({ html: span, className: "map-label " + cls, iconSize: null }),
        interactive: false, keyboard: false, pane: "p-labels",
      }).addTo(group);
    };
    if (state.visible.has("cities") && z >= LABEL_MIN_ZOOM.cities) {
      const e = store.get("cities");
      if (e) e.features.forEach((f) => add(labelGroups.cities, "city-label", f));
    }
    if (z >= LABEL_MIN_ZOOM.counties) {
      const src = state.visible.has("counties") ? "counties" : (state.visible.has("pilot-counties") ? "pilot-counties" : null);
      if (src) store.get(src).features.forEach((f) => add(labelGroups.counties, "county-label" + (f.properties.pilot || src === "pilot-counties" ? " pilot" : ""), f));
    }
  }

  // ---------------------------------------------------------------- selection and popups
  function featureLatLng(lyr) {
    if (lyr instanceof L.Marker) return lyr.getLatLng();
    return toLatLng(labelPoint(lyr.feature.geometry)) || lyr.getBounds().getCenter();
  }

  function flyToFeature(id, lyr) {
    let center, zoom;
    if (lyr instanceof L.Marker) {
      center = lyr.getLatLng();
      zoom = Math.max(map.getZoom(), 12);
    } else {
      const maxZoom = isRegions(id) ? (lyr.feature.properties.level === "city" ? 9 : 10) : 13;
      const target = map._getBoundsCenterZoom(lyr.getBounds(), { maxZoom, padding: [30, 30] });
      center = target.center;
      zoom = target.zoom;
    }
    return new Promise((resolve) => {
      let done = false, calling = true;
      const finish = () => { if (!done) { done = true; map.off("moveend", onEnd); resolve(); } };
      // Stopping a running pan (e.g. a popup's auto-pan) fires moveend synchronously inside flyTo: ignore that one.
      const onEnd = () => { if (!calling) finish(); };
      map.on("moveend", onEnd);
      setTimeout(finish, 3000);
      map.flyTo(center, zoom, { duration: 0.8 });
      calling = false;
      const c = map.getCenter();
      if (Math.abs(map.getZoom() - zoom) < 1e-6 && Math.abs(c.lat - center.lat) < 1e-7 && Math.abs(c.lng - center.lng) < 1e-7) finish();
    });
  }

  /**
   * Select a feature: highlight it (on every layer that shows it), open its popup, sync the table and the URL.
   * opts: fly (move the map to it), latlng (where to open the popup), popup (default true), noHash.
   */
  async function select(id, fid, opts) {
    opts = opts || {};
    fid = String(fid);
    if (!store.has(id)) return false;
    if (!state.visible.has(id)) await setLayerVisible(id, true, { silent: true });
    let entry;
    try { entry = await ensureData(id); } catch (e) { return false; }
    let lyr = entry.index.get(fid);
    if (!lyr) { showStatus(t("status.loadError", { what: `${layerTitle(id)}: ${fid}` }), "error"); return false; }
    const prev = state.selected;
    state.selected = { layer: id, id: fid };
    [prev && prev.layer, id].concat(REGION_LAYERS_TOP_FIRST).forEach((lid) => {
      if (lid && store.has(lid) && store.get(lid).features.length) restyleAll(lid);
    });
    syncTableSelection({ fromTable: opts.fromTable, follow: !opts.fromTable });
    if (!opts.noHash) updateHash();
    if (opts.fly) {
      await flyToFeature(id, lyr);
      lyr = store.get(id).index.get(fid) || lyr; // boundaries may have been refetched for the new zoom
    }
    if (opts.popup !== false) openPopupFor(id, fid, opts.latlng && !opts.fly ? opts.latlng : featureLatLng(lyr), { autoPan: opts.autoPan });
    return true;
  }

  function clearSelection() {
    if (!state.selected) return;
    const prev = state.selected;
    state.selected = null;
    [prev.layer].concat(REGION_LAYERS_TOP_FIRST).forEach((lid) => { if (store.has(lid)) restyleAll(lid); });
    syncTableSelection();
    updateHash();
  }

  function openPopupFor(id, fid, latlng, popupOpts) {
    const box = el("div", { className: "popup-profile", dataset: { testid: "popup-profile", feature: `${id}:${fid}` } });
    const size = map.getSize();
    const maxWidth = Math.max(180, Math.min(360, size.x - 70));
    const popup = L.popup({
      maxWidth, minWidth: Math.min(250, maxWidth), maxHeight: Math.max(200, Math.min(380, size.y - 110)),
      autoPanPadding: [16, 16], autoPanPaddingTopLeft: L.point(10, 16), className: "kc-popup",
      autoPan: !(popupOpts && popupOpts.autoPan === false),
    })
      .setLatLng(latlng).setContent(box);
    currentPopup = popup;
    popup.openOn(map);
    const closeBtn = popup.getElement() && popup.getElement().querySelector(".leaflet-popup-close-button");
    if (closeBtn) { closeBtn.setAttribute("aria-label", t("popup.close")); closeBtn.title = t("popup.close"); }
    if (isRegions(id)) fillRegionProfile(box, id, fid, popup);
    else fillSiteProfile(box, id, store.get(id).index.get(fid).feature);
  }

  function sourceLine(src) {
    if (!src) return null;
    return el("p", { className: "source" }, el("span", { className: "source-label", text: t("popup.source") + t("colon") }), String(src));
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
  function figureTable(rows) {
    const tbody = el("tbody");
    rows.forEach((f) => {
      const value = fmtValue(f.value) + (f.unit ? " " + f.unit : "");
      const meta = [f.year ? String(f.year) : null, f.source ? String(f.source) : null].filter(Boolean).join(" · ");
      tbody.appendChild(el("tr", {},
        el("th", { text: pick(f, "label"), attrs: { scope: "row" } }),
        el("td", {}, el("span", { className: "fig-value", text: value }), meta ? el("span", { className: "fig-meta", text: meta }) : null)));
    });
    return el("table", { className: "figures" }, tbody);
  }

  async function fillRegionProfile(box, id, adcode, popup) {
    const f = store.get(id).index.get(adcode).feature;
    const p = f.properties || {};
    box.appendChild(el("h3", { text: pick(p, "name") }));
    const loading = el("p", { className: "loading", text: t("popup.loading") });
    box.appendChild(loading);
    let prof = profiles.get(adcode);
    if (!prof) {
      try { prof = await fetchJSON(`/api/regions/${encodeURIComponent(adcode)}`); profiles.set(adcode, prof); } catch (e) {
        loading.textContent = t("popup.error") + t("colon") + e.message;
        loading.className = "error";
        return;
      }
    }
    if (currentPopup !== popup) return;
    clear(box);
    renderRegionProfile(box, prof, id);
    popup.update();
  }

  function renderRegionProfile(box, prof, id) {
    const isPilot = (prof.designations || []).length > 0 || id === "pilot-counties";
    const head = el("header", { className: "pp-head" });
    head.appendChild(el("h3", { text: pick(prof, "name") }));
    const meta = [t("level." + prof.level)];
    if (prof.level === "county" && prof.city) meta.push(pick(prof, "city"));
    const metaP = el("p", { className: "pp-meta", text: meta.join(" · ") });
    if (isPilot && (prof.designations || []).length) metaP.appendChild(el("span", { className: "badge pilot", text: t("popup.pilot") }));
    head.appendChild(metaP);
    box.appendChild(head);

    const des = prof.designations || [];
    box.appendChild(section(t("popup.designations"), des.length
      ? el("ul", { className: "designations" }, des.map((d) => el("li", { className: "designation" },
        el("span", { className: "programme", text: pick(d, "programme") }),
        d.year ? el("span", { className: "year", text: ` (${d.year})` }) : null,
        d.source ? el("span", { className: "fig-meta", text: t("popup.source") + t("colon") + d.source }) : null)))
      : el("p", { className: "muted", text: t("popup.noDesignation") })));

    if ((prof.figures || []).length) box.appendChild(section(t("popup.figures"), figureTable(prof.figures)));
    if ((prof.facts || []).length) box.appendChild(section(t("popup.facts"), figureTable(prof.facts)));
    const summary = pick(prof, "summary");
    if (summary) box.appendChild(section(t("popup.summary"), el("p", { className: "summary", text: summary }), sourceLine(prof.summary_source)));

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
  }

  function fillSiteProfile(box, id, f) {
    const p = f.properties || {};
    const head = el("header", { className: "pp-head" });
    head.appendChild(el("h3", { text: pick(p, "name") || p.name }));
    const other = I18N.lang === "en" ? p.name : p.name_en;
    if (other && other !== pick(p, "name")) head.appendChild(el("p", { className: "pp-alt", text: other }));
    const meta = [t("kind." + (p.kind || "other"))];
    if (p.role) meta.push(t("role." + p.role));
    const where = [p.county, p.city].filter(Boolean).join(I18N.lang === "en" ? ", " : "，");
    if (where) meta.push(where);
    const metaP = el("p", { className: "pp-meta", text: meta.join(" · ") });
    if (p.schematic) metaP.appendChild(el("span", { className: "badge schematic", text: t("popup.schematic") }));
    head.appendChild(metaP);
    box.appendChild(head);

    if (p.parent) {
      const parentLayer = findLayerOf(p.parent) || "science-cities";
      const parentName = nameOf(parentLayer, p.parent) || p.parent;
      box.appendChild(el("p", { className: "pp-parent" }, el("span", { text: t("popup.parent") + t("colon") }), featureLink(parentLayer, p.parent, parentName)));
    }
    const d = p.designation;
    if (d && (d.programme || d.programme_en)) {
      box.appendChild(section(t("popup.designation"), el("p", { className: "designation" },
        el("span", { className: "programme", text: pick(d, "programme") }),
        d.year ? el("span", { className: "year", text: ` (${d.year})` }) : null,
        d.source ? el("span", { className: "fig-meta", text: t("popup.source") + t("colon") + d.source }) : null)));
    }
    const summary = pick(p, "summary");
    if (summary) box.appendChild(section(t("popup.summary"), el("p", { className: "summary", text: summary })));
    if (Array.isArray(p.facts) && p.facts.length) box.appendChild(section(t("popup.facts"), figureTable(p.facts)));

    // A science city lists the zones of its layout (loaded on demand, not shown on the map unless toggled).
    if (id === "science-cities" && store.has("science-city-zones")) {
      const holder = el("div");
      box.appendChild(holder);
      ensureData("science-city-zones").then((e) => {
        const zones = e.features.filter((z) => z.properties && z.properties.parent === fidOf(f))
          .sort((a, b) => (a.properties.order || 0) - (b.properties.order || 0));
        if (!zones.length) return;
        holder.appendChild(section(t("popup.layout"), el("ul", { className: "site-links" }, zones.map((z) => el("li", {},
          featureLink("science-city-zones", fidOf(z), pick(z.properties, "name")),
          z.properties.role ? el("span", { className: "fig-meta", text: t("role." + z.properties.role) }) : null)))));
        if (currentPopup) currentPopup.update();
      }).catch(() => {});
    }

    const loc = [];
    if (p.precision) loc.push(el("p", {}, el("span", { className: "source-label", text: t("popup.precision") + t("colon") }), t("precision." + p.precision)));
    if (p.location_note) loc.push(el("p", { className: "muted", text: p.location_note }));
    if (p.schematic) loc.push(el("p", { className: "muted", text: t("popup.schematic.note") }));
    if (p.county_adcode && store.has("counties")) {
      loc.push(el("p", {}, el("span", { className: "source-label", text: t("popup.county") + t("colon") }),
        featureLink("counties", p.county_adcode, p.county || p.county_adcode)));
    }
    if (loc.length) box.appendChild(section(t("popup.location"), loc));
    const src = sourceLine(p.source);
    if (src) box.appendChild(src);
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

  // ---------------------------------------------------------------- layer control, legend
  function setLayerBusy(id, busy, failed) {
    const row = document.querySelector(`.layer-row[data-layer="${id}"]`);
    if (!row) return;
    row.classList.toggle("busy", !!busy);
    row.classList.toggle("failed", !!failed);
  }

  function legendSwatch(id, extra) {
    const m = state.meta.get(id) || {};
    if (m.kind === "sites" && m.geometry_type === "Point") {
      const kinds = extra && extra.kind ? extra.kind : (m.style && m.style.symbol === "star" ? "innovation-base" : null);
      const sym = symbolSvg(kinds || defaultKindFor(id), layerColor(id), 16);
      return el("span", { className: "swatch sym-swatch" }, sym);
    }
    const st = extra && extra.style ? extra.style : styleFor(id, { properties: {} }, {});
    const sw = el("span", { className: "swatch" + (m.geometry_type === "LineString" ? " line" : "") });
    sw.style.borderColor = safeColor(st.color, "#555");
    if (st.dashArray) sw.style.borderStyle = "dashed";
    if (st.fill !== false && st.fillOpacity) {
      sw.style.setProperty("--fill", safeColor(st.fillColor || st.color, "#ccc"));
      sw.style.setProperty("--fill-opacity", String(Math.max(0.25, st.fillOpacity)));
      sw.classList.add("filled");
    }
    sw.style.borderWidth = Math.max(1, Math.min(3, Math.round(st.weight || 1))) + "px";
    return sw;
  }
  function defaultKindFor(id) {
    return { "innovation-bases": "innovation-base", "science-cities": "science-city", "high-tech-zones": "high-tech-zone",
      platforms: "platform" }[id] || "other";
  }

  function buildLayerControl() {
    const root = clear($("#layer-control"));
    const groups = [];
    state.layers.forEach((m) => {
      let g = groups.find((x) => x.id === m.group);
      if (!g) { g = { id: m.group, meta: m, layers: [] }; groups.push(g); }
      g.layers.push(m);
    });
    groups.forEach((g) => {
      const fs = el("fieldset", { className: "layer-group", dataset: { group: g.id } });
      fs.appendChild(el("legend", { text: pick(g.meta, "group_title") || g.id }));
      g.layers.forEach((m) => {
        const cb = el("input", { attrs: { type: "checkbox", id: "lt-" + m.id, "data-testid": "layer-toggle-" + m.id } });
        cb.checked = state.visible.has(m.id);
        cb.addEventListener("change", () => setLayerVisible(m.id, cb.checked));
        const label = el("label", { attrs: { for: "lt-" + m.id } },
          legendSwatch(m.id), el("span", { className: "layer-title", text: pick(m, "title") }),
          m.schematic ? el("span", { className: "badge schematic", text: t("popup.schematic") }) : null);
        const count = el("span", { className: "layer-count", text: t("layer.count", { n: m.count === undefined ? "?" : m.count }) });
        const listBtn = el("button", {
          className: "icon-btn list-btn", title: t("layer.showTable"),
          attrs: { type: "button", "aria-label": `${t("layer.showTable")}: ${pick(m, "title")}`, "data-testid": "layer-table-" + m.id },
          on: { click: () => setTableLayer(m.id, true) },
        }, el("span", { className: "list-icon", attrs: { "aria-hidden": "true" } }));
        const desc = m.description ? el("span", { className: "visually-hidden", text: m.description }) : null;
        fs.appendChild(el("div", { className: "layer-row", dataset: { layer: m.id } }, cb, label, count, listBtn, desc));
      });
      root.appendChild(fs);
    });
  }

  function renderLegend() {
    const root = clear($("#legend"));
    const items = [];
    let schematic = false;
    state.layers.forEach((m) => {
      if (!state.visible.has(m.id)) return;
      const e = store.get(m.id);
      const block = el("div", { className: "legend-block", dataset: { layer: m.id } });
      block.appendChild(el("div", { className: "legend-title" }, legendSwatch(m.id), el("span", { text: pick(m, "title") })));
      if (m.schematic) schematic = true;
      if (m.kind === "sites" && e && e.features.length) {
        if (m.id === "science-city-zones") {
          const roles = [...new Set(e.features.map((f) => f.properties.role).filter(Boolean))];
          block.appendChild(el("ul", {}, roles.map((r) => el("li", {}, legendSwatch(m.id, { style: ROLE_STYLE[r] || ROLE_STYLE.zone }), t("role." + r)))));
        } else if (m.geometry_type === "Point") {
          const kinds = new Map();
          e.features.forEach((f) => { const k = f.properties.kind || "other"; kinds.set(k, (kinds.get(k) || 0) + 1); });
          if (kinds.size > 1 || !kinds.has(defaultKindFor(m.id))) {
            block.appendChild(el("ul", {}, [...kinds].map(([k, n]) => el("li", {}, legendSwatch(m.id, { kind: k }), `${t("kind." + k)} (${n})`))));
          }
        }
        if (e.features.some((f) => f.properties.schematic)) schematic = true;
      }
      items.push(block);
    });
    if (!items.length) root.appendChild(el("p", { className: "muted", text: t("legend.empty") }));
    items.forEach((b) => root.appendChild(b));
    const notes = [];
    if (state.visible.has("cities")) notes.push(t("legend.label.cities"));
    if (state.visible.has("counties") || state.visible.has("pilot-counties")) notes.push(t("legend.label.counties"));
    if (schematic) notes.push(t("legend.schematic"));
    if (notes.length) root.appendChild(el("ul", { className: "legend-notes" }, notes.map((n) => el("li", { text: n }))));
  }

  // ---------------------------------------------------------------- feature table
  function buildTableSelect() {
    const sel = clear($("#table-layer"));
    let og = null, lastGroup = null;
    state.layers.forEach((m) => {
      if (m.group !== lastGroup) { og = el("optgroup", { attrs: { label: pick(m, "group_title") || m.group } }); sel.appendChild(og); lastGroup = m.group; }
      og.appendChild(el("option", { text: pick(m, "title"), attrs: { value: m.id } }));
    });
    sel.value = state.tableLayer;
  }

  function setTableLayer(id, focus) {
    if (!store.has(id)) return;
    state.tableLayer = id;
    $("#table-layer").value = id;
    state.layers.forEach((m) => { const r = document.querySelector(`.layer-row[data-layer="${m.id}"]`); if (r) r.classList.toggle("in-table", m.id === id); });
    renderExport();
    renderTable().then(() => {
      if (focus) { const r = $("#feature-rows tr[tabindex='0']"); if (r) r.focus(); }
    });
    updateHash();
  }

  function sortedFeatures(id, features) {
    const regions = isRegions(id);
    return features.slice().sort((a, b) => {
      const pa = a.properties || {}, pb = b.properties || {};
      if (regions) return String(pa.adcode || fidOf(a)).localeCompare(String(pb.adcode || fidOf(b)));
      return String(pa.city || "").localeCompare(String(pb.city || ""), "zh") || String(pa.name).localeCompare(String(pb.name), "zh");
    });
  }

  async function renderTable() {
    const id = state.tableLayer;
    const tbody = clear($("#feature-rows"));
    const regions = isRegions(id);
    $("#th-name").textContent = t("table.name");
    $("#th-second").textContent = regions ? t("table.city") : t("table.county");
    const entry = store.get(id);
    if (!entry) return;
    if (entry.key === null) {
      tbody.appendChild(el("tr", { className: "placeholder" }, el("td", { text: t("table.loading"), attrs: { colspan: "2" } })));
      try { await ensureData(id); } catch (e) { return; }
      if (state.tableLayer !== id) return;
      clear(tbody);
    }
    entry.tableShown = true;
    const feats = sortedFeatures(id, entry.features);
    $("#table-count").textContent = t("table.count", { n: feats.length });
    if (!feats.length) {
      tbody.appendChild(el("tr", { className: "placeholder" }, el("td", { text: t("table.empty"), attrs: { colspan: "2" } })));
      return;
    }
    feats.forEach((f, i) => {
      const p = f.properties || {};
      const fid = fidOf(f);
      let second;
      if (regions) second = p.level === "city" ? "" : (pick(p, "city") || "");
      else second = [p.county, p.role ? t("role." + p.role) : t("kind." + (p.kind || "other"))].filter(Boolean).join(" · ");
      const nameCell = el("td", { className: "name" }, el("span", { text: pick(p, "name") || p.name || fid }));
      if (!regions && p.schematic) nameCell.appendChild(el("span", { className: "badge schematic", text: t("popup.schematic") }));
      const tr = el("tr", {
        attrs: { tabindex: i === 0 ? "0" : "-1", "aria-selected": "false", "data-testid": "table-row" },
        dataset: { fid, layer: id },
      }, nameCell, el("td", { className: "second", text: second }));
      tbody.appendChild(tr);
    });
    syncTableSelection();
  }

  function tableRows() { return Array.from(document.querySelectorAll("#feature-rows tr[data-fid]")); }
  function focusRow(tr) {
    tableRows().forEach((r) => r.setAttribute("tabindex", "-1"));
    tr.setAttribute("tabindex", "0");
    tr.focus({ preventScroll: true });
    scrollRowIntoView(tr);
  }

  /** Mark the selected row. opts.follow: if the list shows another layer, list the selection's layer instead. */
  function syncTableSelection(opts) {
    const fromTable = !!(opts && opts.fromTable);
    const s = state.selected;
    const rows = tableRows();
    let hit = null;
    rows.forEach((r) => {
      const on = !!s && r.dataset.fid === s.id && (r.dataset.layer === s.layer || (isRegions(s.layer) && isRegions(r.dataset.layer)));
      r.setAttribute("aria-selected", on ? "true" : "false");
      r.classList.toggle("selected", on);
      if (on) hit = r;
    });
    if (s && !hit && opts && opts.follow && s.layer !== state.tableLayer && s.layer !== "province") {
      // The selection is not in the listed layer: list the selection's layer instead.
      setTableLayer(s.layer);
      return;
    }
    if (hit) {
      rows.forEach((r) => r.setAttribute("tabindex", r === hit ? "0" : "-1"));
      if (!fromTable) scrollRowIntoView(hit);
    }
  }
  /** Scroll only the table's own box (scrollIntoView would also scroll the panel and the page). */
  function scrollRowIntoView(tr) {
    const wrap = tr.closest(".table-wrap");
    if (!wrap) return;
    const head = wrap.querySelector("thead");
    const top = tr.offsetTop - (head ? head.offsetHeight : 0);
    if (top < wrap.scrollTop) wrap.scrollTop = top;
    else if (tr.offsetTop + tr.offsetHeight > wrap.scrollTop + wrap.clientHeight) wrap.scrollTop = tr.offsetTop + tr.offsetHeight - wrap.clientHeight;
  }

  function initTableKeys() {
    const tbody = $("#feature-rows");
    tbody.addEventListener("click", (e) => {
      const tr = e.target.closest("tr[data-fid]");
      if (!tr) return;
      focusRow(tr);
      select(tr.dataset.layer, tr.dataset.fid, { fly: true, fromTable: true });
      closeDrawerOnNarrow();
    });
    tbody.addEventListener("keydown", (e) => {
      const tr = e.target.closest("tr[data-fid]");
      if (!tr) return;
      const rows = tableRows();
      const i = rows.indexOf(tr);
      let next = null;
      if (e.key === "ArrowDown") next = rows[Math.min(rows.length - 1, i + 1)];
      else if (e.key === "ArrowUp") next = rows[Math.max(0, i - 1)];
      else if (e.key === "Home") next = rows[0];
      else if (e.key === "End") next = rows[rows.length - 1];
      else if (e.key === "PageDown") next = rows[Math.min(rows.length - 1, i + 10)];
      else if (e.key === "PageUp") next = rows[Math.max(0, i - 10)];
      else if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        select(tr.dataset.layer, tr.dataset.fid, { fly: true, fromTable: true });
        return;
      }
      if (next) { e.preventDefault(); focusRow(next); }
    });
    $("#table-layer").addEventListener("change", (e) => setTableLayer(e.target.value));
  }

  // ---------------------------------------------------------------- export and OGC
  function renderExport() {
    const id = state.tableLayer;
    $("#export-layer-name").textContent = layerTitle(id);
    const ul = clear($("#export-links"));
    EXPORT_FORMATS.forEach((ext) => {
      ul.appendChild(el("li", {}, el("a", {
        text: t("export." + ext), attrs: { href: `/export/${encodeURIComponent(id)}.${ext}`, download: `${id}.${ext}`, "data-testid": "export-" + ext },
      }), el("span", { className: "ext", text: "." + ext })));
    });
    const ogc = $("#ogc-url");
    ogc.value = CONFIG.ogc_url || (window.location.origin + "/ogc");
  }
  function initOgcCopy() {
    $("#ogc-copy").addEventListener("click", async () => {
      const input = $("#ogc-url");
      input.select();
      let ok = false;
      try { await navigator.clipboard.writeText(input.value); ok = true; } catch (e) {
        try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
      }
      if (ok) showStatus(t("export.copied"));
    });
  }

  // ---------------------------------------------------------------- base maps and datum
  function buildBasemapControl() {
    const root = clear($("#basemap-control"));
    const options = [{ id: "none", title: t("basemap.none"), datum: "wgs84" }].concat(BASEMAPS);
    options.forEach((b) => {
      const input = el("input", { attrs: { type: "radio", name: "basemap", id: "bm-" + cssId(b.id), value: b.id, "data-testid": "basemap-" + b.id } });
      input.checked = state.basemap === b.id;
      input.addEventListener("change", () => { if (input.checked) setBasemap(b.id); });
      const title = b.id === "none" ? t("basemap.none") : pick(b, "title") || b.id;
      root.appendChild(el("div", { className: "basemap-row" }, input,
        el("label", { attrs: { for: "bm-" + cssId(b.id) } }, title, el("span", { className: "datum-tag", text: (b.datum === "gcj02" ? "GCJ-02" : "WGS-84") }))));
    });
  }

  async function setBasemap(id, opts) {
    const bm = BASEMAPS.find((b) => b.id === id);
    if (!bm) id = "none";
    state.basemap = id;
    if (tileLayer) { map.removeLayer(tileLayer); tileLayer = null; }
    if (bm) {
      const o = { attribution: bm.attribution || "", maxZoom: bm.max_zoom || 18, maxNativeZoom: bm.max_zoom || 18 };
      if (bm.subdomains) o.subdomains = bm.subdomains;
      tileLayer = L.tileLayer(bm.url, o).addTo(map);
      tileLayer.bringToBack();
    }
    document.body.classList.toggle("has-tiles", !!bm);
    if (landLayer) { if (bm) map.removeLayer(landLayer); else landLayer.addTo(map); }
    const r = document.getElementById("bm-" + cssId(id));
    if (r) r.checked = true;
    restyleAll("counties");
    await setDatum(bm && bm.datum === "gcj02" ? "gcj02" : "wgs84", opts);
    if (!(opts && opts.silent)) updateHash();
  }

  async function setDatum(datum, opts) {
    if (datum === state.datum) { updateDatumControl(); return; }
    const from = state.datum;
    state.datum = datum;
    updateDatumControl();
    if (!(opts && opts.keepView)) {
      const c = map.getCenter();
      const [lat, lng] = from === "wgs84" ? wgsToGcj(c.lat, c.lng) : gcjToWgs(c.lat, c.lng);
      map.setView([lat, lng], map.getZoom(), { animate: false });
    }
    const jobs = [];
    store.forEach((e, id) => { if (e.key !== null) jobs.push(ensureData(id).catch(() => null)); });
    await Promise.all(jobs);
    if (state.selected && currentPopup && map.hasLayer(currentPopup)) {
      const s = state.selected;
      const lyr = store.get(s.layer).index.get(s.id);
      if (lyr) openPopupFor(s.layer, s.id, featureLatLng(lyr));
    }
  }

  const DatumControl = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd() {
      const div = L.DomUtil.create("div", "datum-indicator leaflet-bar");
      div.setAttribute("data-testid", "datum-indicator");
      this._div = div;
      this.update();
      return div;
    },
    update() {
      if (!this._div) return;
      clear(this._div);
      this._div.appendChild(el("span", { className: "datum-label", text: t("datum.label") + t("colon") }));
      this._div.appendChild(el("b", { className: "datum-value", text: state.datum === "gcj02" ? "GCJ-02" : "WGS-84" }));
    },
  });
  function updateDatumControl() { if (datumControl) datumControl.update(); }

  // ---------------------------------------------------------------- search
  function initSearch() {
    const input = $("#search-input");
    const list = $("#search-results");
    let timer = null, seq = 0, results = [], active = -1;

    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); input.removeAttribute("aria-activedescendant"); active = -1; }
    function setActive(i) {
      const items = list.querySelectorAll("li[role=option]");
      items.forEach((li, k) => li.setAttribute("aria-selected", k === i ? "true" : "false"));
      active = i;
      if (items[i]) { input.setAttribute("aria-activedescendant", items[i].id); items[i].scrollIntoView({ block: "nearest" }); }
    }
    function render() {
      clear(list);
      if (!results.length) {
        list.appendChild(el("li", { className: "none", text: t("search.none"), attrs: { role: "presentation" } }));
      }
      results.forEach((r, i) => {
        const metaBits = [r.kind ? t("kind." + r.kind) : layerTitle(r.layer), r.city && r.city !== r.name ? r.city : null]
          .filter((x, k, a) => x && a.indexOf(x) === k);
        const name = pick(r, "name") || r.name;
        const li = el("li", {
          attrs: { role: "option", id: "sr-" + i, "aria-selected": "false", "data-testid": "search-result" },
          dataset: { layer: r.layer, fid: String(r.id) },
        }, el("span", { className: "sr-name", text: name }),
        (I18N.lang === "en" && r.name && r.name !== name) ? el("span", { className: "sr-alt", text: r.name }) : null,
        el("span", { className: "sr-meta", text: metaBits.join(" · ") }));
        li.addEventListener("mousedown", (e) => e.preventDefault()); // keep focus in the input
        li.addEventListener("click", () => choose(i));
        list.appendChild(li);
      });
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }
    async function run() {
      const q = input.value.trim();
      if (!q) { results = []; close(); return; }
      const my = ++seq;
      try {
        const body = await fetchJSON(`/api/search?q=${encodeURIComponent(q)}`);
        if (my !== seq) return;
        results = (body && Array.isArray(body.results)) ? body.results.filter((r) => store.has(r.layer)) : [];
        render();
        if (results.length) setActive(0);
      } catch (e) {
        if (my !== seq) return;
        results = [];
        clear(list).appendChild(el("li", { className: "none", text: t("search.error") + t("colon") + e.message }));
        list.hidden = false;
      }
    }
    function choose(i) {
      const r = results[i];
      if (!r) return;
      input.value = pick(r, "name") || r.name;
      close();
      input.blur();
      select(r.layer, String(r.id), { fly: true });
      closeDrawerOnNarrow();
    }
    input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(run, 160); });
    input.addEventListener("focus", () => { if (results.length && input.value.trim()) render(); });
    input.addEventListener("blur", () => setTimeout(close, 150));
    input.addEventListener("keydown", (e) => {
      if (e.key === "ArrowDown") { e.preventDefault(); if (list.hidden && results.length) render(); setActive(Math.min(results.length - 1, active + 1)); }
      else if (e.key === "ArrowUp") { e.preventDefault(); setActive(Math.max(0, active - 1)); }
      else if (e.key === "Enter") {
        e.preventDefault();
        if (!list.hidden && results.length) choose(active >= 0 ? active : 0);
        else { clearTimeout(timer); run(); }
      } else if (e.key === "Escape") { close(); }
    });
    return { rerender() { if (!list.hidden && results.length) render(); } };
  }

  // ---------------------------------------------------------------- URL state (hash)
  let lastHash = null;
  function hashString(over) {
    const c = map.getCenter();
    const parts = {
      z: String(Math.round(map.getZoom() * 100) / 100),
      c: `${c.lat.toFixed(5)},${c.lng.toFixed(5)}`,
      l: state.layers.filter((m) => state.visible.has(m.id)).map((m) => m.id).join(","),
    };
    if (state.selected) parts.s = `${state.selected.layer}:${state.selected.id}`;
    if (state.basemap !== "none") parts.b = state.basemap;
    if (state.tableLayer !== "pilot-counties") parts.t = state.tableLayer;
    if (I18N.lang !== "zh") parts.lang = I18N.lang;
    Object.assign(parts, over || {});
    return Object.entries(parts).filter(([, v]) => v !== null && v !== undefined)
      .map(([k, v]) => `${k}=${encodeURIComponent(v).replace(/%2C/g, ",").replace(/%3A/g, ":")}`).join("&");
  }
  function updateHash() {
    if (!state.ready) return;
    const h = "#" + hashString();
    if (h !== window.location.hash) {
      lastHash = h;
      window.history.replaceState(null, "", h);
    }
  }
  function parseHash(h) {
    const out = {};
    (h || "").replace(/^#/, "").split("&").forEach((kv) => {
      if (!kv) return;
      const i = kv.indexOf("=");
      const k = i < 0 ? kv : kv.slice(0, i);
      let v = i < 0 ? "" : kv.slice(i + 1);
      try { v = decodeURIComponent(v); } catch (e) { /* keep raw */ }
      out[k] = v;
    });
    return out;
  }

  /** Apply a parsed hash: view, layers, base map, table layer, language, selection. */
  async function applyHash(h, initial) {
    const known = (id) => store.has(id);
    const z = parseFloat(h.z);
    const c = (h.c || "").split(",").map(parseFloat);
    const hasView = Number.isFinite(z) && c.length === 2 && c.every(Number.isFinite) && Math.abs(c[0]) <= 90 && Math.abs(c[1]) <= 180;
    if (h.lang && (h.lang === "en" || h.lang === "zh") && h.lang !== I18N.lang) setLang(h.lang);
    if (h.b !== undefined || !initial) await setBasemap(h.b || "none", { silent: true, keepView: true });
    if (hasView) map.setView([c[0], c[1]], Math.max(0, Math.min(18, z)), { animate: false });
    if (h.l !== undefined) {
      const want = new Set(h.l.split(",").filter(known));
      state.layers.forEach((m) => { if (state.visible.has(m.id) && !want.has(m.id)) setLayerVisible(m.id, false, { silent: true }); });
      await Promise.all([...want].map((id) => setLayerVisible(id, true, { silent: true })));
    }
    if (h.t && known(h.t) && h.t !== state.tableLayer) setTableLayer(h.t);
    if (h.s) {
      const i = h.s.indexOf(":");
      const lid = i > 0 ? h.s.slice(0, i) : "";
      const fid = i > 0 ? h.s.slice(i + 1) : "";
      // A restored view stays exactly as it was: no auto-pan for the restored popup.
      if (known(lid) && fid) await select(lid, fid, { fly: !hasView, noHash: true, autoPan: !hasView });
    } else if (!initial) {
      if (currentPopup) map.closePopup(currentPopup);
      clearSelection();
    }
    return hasView;
  }

  // ---------------------------------------------------------------- language
  let search = null;
  function setLang(lang) {
    I18N.setLang(lang);
    if (!map) return;
    rebuildLabels();
    buildLayerControl();
    buildTableSelect();
    buildBasemapControl();
    renderLegend();
    renderExport();
    setTableLayer(state.tableLayer);
    updateDatumControl();
    if (zoomControl) { map.removeControl(zoomControl); }
    zoomControl = L.control.zoom({ position: "topright", zoomInTitle: t("zoom.in"), zoomOutTitle: t("zoom.out") }).addTo(map);
    if (search) search.rerender();
    if (state.selected && currentPopup && map.hasLayer(currentPopup)) {
      const s = state.selected;
      openPopupFor(s.layer, s.id, currentPopup.getLatLng());
    }
    syncPanelToggle();
    updateHash();
  }

  // ---------------------------------------------------------------- side panel / drawer
  function syncPanelToggle() {
    const open = NARROW.matches ? document.body.classList.contains("panel-open") : !document.body.classList.contains("panel-collapsed");
    const btn = $("#panel-toggle");
    btn.setAttribute("aria-expanded", open ? "true" : "false");
    $("#backdrop").hidden = !(NARROW.matches && open);
  }
  function togglePanel(force) {
    if (NARROW.matches) {
      const wasOpen = document.body.classList.contains("panel-open");
      const open = force !== undefined ? force : !wasOpen;
      document.body.classList.toggle("panel-open", open);
      if (open && !wasOpen) setTimeout(() => $("#panel-close").focus({ preventScroll: true }), 50);
      if (!open && wasOpen && document.activeElement && $("#side-panel").contains(document.activeElement)) $("#panel-toggle").focus();
    } else {
      const collapsed = force !== undefined ? !force : !document.body.classList.contains("panel-collapsed");
      document.body.classList.toggle("panel-collapsed", collapsed);
      setTimeout(() => map.invalidateSize(), 260);
    }
    syncPanelToggle();
  }
  function closeDrawerOnNarrow() { if (NARROW.matches && document.body.classList.contains("panel-open")) togglePanel(false); }
  function initPanel() {
    $("#panel-toggle").addEventListener("click", () => togglePanel());
    $("#panel-close").addEventListener("click", () => togglePanel(false));
    $("#backdrop").addEventListener("click", () => togglePanel(false));
    document.addEventListener("keydown", (e) => { if (e.key === "Escape" && NARROW.matches && document.body.classList.contains("panel-open")) togglePanel(false); });
    const onChange = () => { document.body.classList.remove("panel-open"); syncPanelToggle(); if (map) map.invalidateSize(); };
    if (NARROW.addEventListener) NARROW.addEventListener("change", onChange); else NARROW.addListener(onChange);
    syncPanelToggle();
  }

  // ---------------------------------------------------------------- start
  async function start() {
    I18N.apply();
    initPanel();
    map = L.map("map", { zoomControl: false, minZoom: 5, maxZoom: 18, zoomSnap: 0.5, preferCanvas: false, worldCopyJump: false });
    map.attributionControl.setPrefix("Leaflet");
    zoomControl = L.control.zoom({ position: "topright", zoomInTitle: t("zoom.in"), zoomOutTitle: t("zoom.out") }).addTo(map);
    L.control.scale({ imperial: false, position: "bottomright" }).addTo(map);
    datumControl = new DatumControl().addTo(map);
    Object.entries(PANES).forEach(([id, z]) => { const p = map.createPane("p-" + id); p.style.zIndex = String(z); });
    const land = map.createPane("p-land");
    land.style.zIndex = "399";
    land.style.pointerEvents = "none";
    landLayer = L.geoJSON(null, { pane: "p-land", interactive: false, style: () => ({ stroke: false, fillColor: "#f4f1ea", fillOpacity: 1, className: "land" }) }).addTo(map);
    const lp = map.createPane("p-labels");
    lp.style.zIndex = "450";
    lp.style.pointerEvents = "none";
    labelGroups.cities.addTo(map);
    labelGroups.counties.addTo(map);
    map.setView([29.15, 120.1], 7);

    let catalog;
    try { catalog = await fetchJSON("/api/layers"); } catch (e) {
      showStatus(t("status.loadError", { what: "/api/layers — " + e.message }), "error");
      document.body.dataset.ready = "error";
      return;
    }
    state.layers = (catalog && catalog.layers) || [];
    state.layers.forEach((m) => { state.meta.set(m.id, m); store.set(m.id, makeGroup(m.id)); });
    if (!store.has(state.tableLayer)) state.tableLayer = state.layers.length ? state.layers[0].id : null;

    $("#version").textContent = CONFIG.version ? `v${CONFIG.version}` : "";
    buildBasemapControl();
    buildTableSelect();
    initTableKeys();
    initOgcCopy();
    search = initSearch();
    $("#lang-toggle").addEventListener("click", () => setLang(I18N.lang === "zh" ? "en" : "zh"));

    const h = parseHash(window.location.hash);
    if (h.l === undefined) state.layers.forEach((m) => { if (m.default_visible) state.visible.add(m.id); });
    if (h.lang === "en" || h.lang === "zh") I18N.setLang(h.lang);
    I18N.apply();
    buildLayerControl();
    buildTableSelect();
    renderExport();
    updateDatumControl();

    const prov = state.meta.get("province");
    const bb = (prov && prov.bbox) || [118.0, 27.0, 123.2, 31.2];
    if (!(h.z && h.c)) map.fitBounds([[bb[1], bb[0]], [bb[3], bb[2]]], { padding: [10, 10], animate: false });

    const initialVisible = [...state.visible];
    initialVisible.forEach((id) => { const e = store.get(id); e.group.addTo(map); });
    updateInteractivity();
    renderLegend();
    try {
      await applyHash(h, true);
      await Promise.all([...state.visible].map((id) => ensureData(id).catch(() => null)));
    } catch (e) {
      showStatus(String(e && e.message), "error");
    }
    setTableLayer(state.tableLayer);
    rebuildLabels();
    buildLayerControl();
    setLang(I18N.lang);

    let lastBucket = zoomBucket(map.getZoom());
    map.on("zoomend", () => {
      const b = zoomBucket(map.getZoom());
      if (b !== lastBucket) {
        lastBucket = b;
        state.visible.forEach((id) => { if (isRegions(id)) ensureData(id).catch(() => null); });
      }
      rebuildLabels();
    });
    map.on("moveend", updateHash);
    map.on("popupclose", (e) => { if (e.popup === currentPopup) { currentPopup = null; clearSelection(); } });
    window.addEventListener("hashchange", () => {
      if (window.location.hash === lastHash) return;
      lastHash = window.location.hash;
      applyHash(parseHash(window.location.hash), false);
    });

    state.ready = true;
    lastHash = window.location.hash;
    updateHash();
    document.body.dataset.ready = "true";
  }

  window.kechuang = {
    get map() { return map; },
    get busy() { return inflight; },
    state, store, select, setLayerVisible, setBasemap, setLang, labelPoint, wgsToGcj, gcjToWgs,
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start); else start();
})();
