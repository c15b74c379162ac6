-- API keys: only a SHA-256 hash of the secret and a short prefix (to tell keys apart) are stored.
CREATE TABLE api_keys (
    id          uuid        PRIMARY KEY,
    name        text        NOT NULL,
    prefix      text        NOT NULL,
    key_hash    bytea       NOT NULL UNIQUE CHECK (length(key_hash) = 32),
    scopes      text[]      NOT NULL,
    -- Requests per second and burst for the gateway's rate limiter; null: the gateway's defaults.
    rate_limit  jsonb       NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NULL,
    revoked_at  timestamptz NULL,
    bootstrap   boolean     NOT NULL DEFAULT false
);
