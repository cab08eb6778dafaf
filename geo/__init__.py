"""Generic geospatial code: datums, GeoJSON, simplification, exports, OGC API. Knows nothing about Zhejiang."""
