-- Issue 18 item 6: usage and quotas. Gateways count requests, rows and compute time in Redis; the orchestrator
-- moves each batch of counts here once (usage_batches remembers which batches it moved, so a batch retried after a
-- crash is not added twice). Quotas are per key and per team; null: no quota.
CREATE TABLE usage_daily (
    day        date   NOT NULL,
    -- 'key:<id>' or 'jwt:<subject>'
    caller     text   NOT NULL,
    -- '' for a caller without a team (part of the key, so not null)
    team       text   NOT NULL DEFAULT '',
    model      text   NOT NULL,
    requests   bigint NOT NULL DEFAULT 0,
    row_count  bigint NOT NULL DEFAULT 0,
    compute_ms bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (day, caller, team, model)
);

CREATE INDEX usage_daily_team ON usage_daily (team, day) WHERE team <> '';

CREATE TABLE usage_batches (
    batch      text        PRIMARY KEY,
    fields     integer     NOT NULL,
    flushed_at timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE api_keys ADD COLUMN quota jsonb NULL;
ALTER TABLE teams ADD COLUMN quota jsonb NULL;
