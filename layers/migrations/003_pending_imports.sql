-- Imports checked but not yet saved (layers/pgpending.py): any app instance can commit what another checked.
CREATE TABLE pending_imports (
  id text PRIMARY KEY,
  owner text NOT NULL,
  source text NOT NULL,
  title text NOT NULL,
  created timestamptz NOT NULL,
  payload bytea NOT NULL  -- the reconciliation, pickled without the boundaries (each instance has its own)
);
CREATE INDEX pending_imports_created ON pending_imports (created);
