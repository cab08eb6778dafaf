-- Boundaries and curated layers (layers/pgdata.py; loaded by `python -m boundaries load` and `python -m layers load`).
-- The app reads them once at start-up into the same frames the GeoPackage and the YAML give.

-- Province, cities and counties of the boundary GeoPackage, one row per region, in the file's order. An adcode
-- may sit in two layers (Chongqing 500000 is a province and a city of all-China builds): the key is both.
CREATE TABLE boundary_regions (
  adcode text NOT NULL,
  layer text NOT NULL CHECK (layer IN ('province', 'cities', 'counties')),
  position integer NOT NULL,            -- order within the layer, as in the GeoPackage
  name text NOT NULL,
  name_en text,
  level text NOT NULL,
  city text,
  city_en text,
  city_adcode text,
  province text,
  province_adcode text,
  geom geometry(MultiPolygon, 4326) NOT NULL,
  PRIMARY KEY (layer, adcode)
);
CREATE INDEX boundary_regions_geom ON boundary_regions USING gist (geom);

-- The GeoPackage's metadata (source, build date, datum conversion …) as key/value.
CREATE TABLE boundary_metadata (
  key text PRIMARY KEY,
  value text NOT NULL
);

-- The curated records after every check (facts, citations and sources resolved), as JSON text (json, not jsonb:
-- it keeps the order of keys, so the app answers byte for byte as from the YAML; curated_features has the JSONB):
-- kind 'site' | 'pilot' | 'region' one row per record in file order; kind 'meta' holds pilot_meta, sources, unverified.
CREATE TABLE curated_records (
  kind text NOT NULL CHECK (kind IN ('site', 'pilot', 'region', 'meta')),
  key text NOT NULL,                    -- record id (site slug, adcode) or the meta key (for people reading it)
  position integer NOT NULL,
  record json NOT NULL,
  PRIMARY KEY (kind, position)
);

-- The features of every curated site layer as the catalog builds them (properties with their facts as JSONB),
-- for SQL clients (QGIS, pygeoapi) and spatial queries; the app rebuilds its frames from curated_records.
CREATE TABLE curated_features (
  layer text NOT NULL,
  fid text NOT NULL,
  position integer NOT NULL,
  properties jsonb NOT NULL,
  geom geometry(Geometry, 4326),
  PRIMARY KEY (layer, fid)
);
CREATE INDEX curated_features_geom ON curated_features USING gist (geom);

-- Every load: what was loaded (kind, source file or folder, counts, content digest) and when.
CREATE TABLE data_loads (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  kind text NOT NULL CHECK (kind IN ('boundaries', 'layers')),
  version bigint NOT NULL,              -- the data version this load made
  loaded timestamptz NOT NULL DEFAULT now(),
  source text NOT NULL,
  counts jsonb NOT NULL,
  digest text NOT NULL
);

-- The data version: raised by every load, announced with NOTIFY kechuang_data '<version>'.
CREATE TABLE data_state (
  key text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO data_state (key, value) VALUES ('version', 0);
