-- Model quality (issue #16): sampled live traffic, ground-truth labels, and drift results over time.

-- One row per sampled inference request and arm, written in batches by the capture ingestor from the
-- gateway's Redis stream (never one PostgreSQL write per request). Old rows are deleted by retention.
CREATE TABLE captures (
    id           bigserial   PRIMARY KEY,
    model        text        NOT NULL,
    version      bigint      NOT NULL CHECK (version > 0),
    -- The traffic arm that answered: stable, canary or shadow (a shadow copy shares the request id).
    arm          text        NOT NULL CHECK (arm IN ('stable', 'canary', 'shadow')),
    -- The X-Request-Id the gateway answered with, and the OIP request "id" when the body had one:
    -- feedback may name either.
    request_id   text        NOT NULL,
    oip_id       text        NULL,
    captured_at  timestamptz NOT NULL,
    -- Rows in the request (its batch dimension), so windows can count rows as well as requests.
    rows         integer     NOT NULL CHECK (rows >= 0),
    -- Tensors by name, each {"datatype", "shape", "data": [flat, row-major]}: the inputs drift reads and
    -- the outputs predictions and quality read, with the deployment's redacted names left out.
    inputs       jsonb       NOT NULL,
    outputs      jsonb       NOT NULL,
    -- The whole request and response, only when the deployment's monitoring captures payloads.
    payload      jsonb       NULL,
    UNIQUE (request_id, arm)
);

CREATE INDEX captures_model_version_time ON captures (model, version, captured_at DESC);
CREATE INDEX captures_oip_id ON captures (oip_id) WHERE oip_id IS NOT NULL;
CREATE INDEX captures_time ON captures (captured_at);

-- Ground truth, as it arrives (hours later is fine): joined with captures when quality is computed, so a
-- label that came before its capture was ingested still counts once the capture lands.
CREATE TABLE feedback (
    model        text        NOT NULL,
    request_id   text        NOT NULL,
    -- A class (integer or string) or a number; an array holds one label per row of a batched request.
    label        jsonb       NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, request_id)
);

-- Every drift computation, scheduled or asked for: the latest is the model's drift now, the rest its history.
CREATE TABLE drift_results (
    id           bigserial        PRIMARY KEY,
    model        text             NOT NULL,
    version      bigint           NOT NULL,
    computed_at  timestamptz      NOT NULL DEFAULT now(),
    trigger      text             NOT NULL CHECK (trigger IN ('schedule', 'manual')),
    window_start timestamptz      NOT NULL,
    window_end   timestamptz      NOT NULL,
    rows         bigint           NOT NULL,
    score        double precision NULL,
    drifted      boolean          NOT NULL,
    -- The whole answer of GET .../drift: per-feature statistics, prediction drift, thresholds used.
    result       jsonb            NOT NULL
);

CREATE INDEX drift_results_model_version_time ON drift_results (model, version, computed_at DESC);
