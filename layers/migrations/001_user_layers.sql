-- The user-layer store (layers/pgstore.py): layers people import, every version kept.
-- Each version's features are a table of their own in schema user_layer_data, named "<layer id>_v<n>":
-- fid, geom geometry(<type>, 4326) with a GiST index, then the rows' own typed columns.
CREATE EXTENSION IF NOT EXISTS postgis;

CREATE SCHEMA IF NOT EXISTS user_layer_data;

CREATE TABLE user_layers (
  id text PRIMARY KEY,
  seq bigint GENERATED ALWAYS AS IDENTITY,  -- creation order (oldest first)
  title text NOT NULL,
  owner text NOT NULL,
  created timestamptz NOT NULL,
  updated timestamptz NOT NULL,
  version integer NOT NULL,
  source text NOT NULL DEFAULT ''
);

CREATE TABLE user_layer_versions (
  layer_id text NOT NULL REFERENCES user_layers (id) ON DELETE CASCADE,
  version integer NOT NULL,
  table_name text NOT NULL,            -- in schema user_layer_data
  created timestamptz NOT NULL,
  owner text NOT NULL,
  source text NOT NULL DEFAULT '',
  count integer NOT NULL,
  geometry_type text NOT NULL,         -- POINT, MULTIPOLYGON, … or GEOMETRY
  columns jsonb NOT NULL,              -- [[name, INTEGER|REAL|BOOLEAN|DATE|DATETIME|TEXT, column in the table], …]
  bbox double precision[],             -- minx, miny, maxx, maxy (NULL without geometries)
  PRIMARY KEY (layer_id, version)
);

-- The store's revision: raised by every write, announced with NOTIFY kechuang_user_layers '<revision>'.
CREATE TABLE user_store_state (
  key text PRIMARY KEY,
  value bigint NOT NULL
);
INSERT INTO user_store_state (key, value) VALUES ('revision', 0);
