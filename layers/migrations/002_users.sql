-- The users directory (layers/pgusers.py): editors with argon2 password hashes, API tokens and sessions
-- (only the SHA-256 of each secret is kept), and the audit log of every change to a user layer.
CREATE TABLE users (
  name text PRIMARY KEY,
  role text NOT NULL CHECK (role IN ('reader', 'editor', 'admin')),
  password text NOT NULL,
  created timestamptz NOT NULL
);

CREATE TABLE user_tokens (
  digest text PRIMARY KEY,
  name text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
  created timestamptz NOT NULL
);

CREATE TABLE user_sessions (
  digest text PRIMARY KEY,
  name text NOT NULL REFERENCES users (name) ON DELETE CASCADE,
  created timestamptz NOT NULL,
  expires timestamptz NOT NULL
);
CREATE INDEX user_sessions_expires ON user_sessions (expires);

CREATE TABLE audit_log (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  action text NOT NULL,
  layer text NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'
);

-- Values every app instance must share: the key that signs session cookies (made once, by the first instance,
-- unless the secret_key setting gives one), so a session started on one instance is valid on all of them.
CREATE TABLE app_secrets (
  key text PRIMARY KEY,
  value text NOT NULL
);
