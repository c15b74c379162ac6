-- The webhook outbox: one row per (event, webhook) delivery. Rows are written in the same transaction
-- as the change they report (so a decision, its audit entry and its notifications commit together or
-- not at all) and delivered later by the orchestrator, which claims due rows with
-- SELECT ... FOR UPDATE SKIP LOCKED so that replicas never deliver one row at the same time.
CREATE TABLE webhook_outbox (
    id              uuid        PRIMARY KEY,
    -- Shared by every webhook's row for one event; receivers de-duplicate on it (X-Hyperion-Event-Id).
    event_id        uuid        NOT NULL,
    event_type      text        NOT NULL,
    webhook         text        NOT NULL,
    model           text        NULL,
    actor           text        NOT NULL,
    occurred_at     timestamptz NOT NULL,
    -- The envelope's "data" object.
    payload         jsonb       NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    attempts        integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_attempt_at timestamptz NULL,
    -- The receiver's HTTP status at the last attempt; null when it never answered (refused, timed out).
    last_status     integer     NULL,
    last_error      text        NULL,
    delivered_at    timestamptz NULL,
    -- Given up after the last allowed attempt; POST /api/v1/webhooks/deliveries/{id}/retry requeues it.
    dead            boolean     NOT NULL DEFAULT false,
    UNIQUE (event_id, webhook),
    CHECK (NOT (dead AND delivered_at IS NOT NULL))
);

-- What the delivery workers look for: undelivered, not given up, by due time.
CREATE INDEX webhook_outbox_due ON webhook_outbox (next_attempt_at) WHERE delivered_at IS NULL AND NOT dead;
