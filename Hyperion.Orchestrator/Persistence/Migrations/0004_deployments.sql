-- Deployments: one per model. Every change is a new revision (kept); deployments.revision names
-- the current one. serving_stable is the stable version that actually takes traffic: it follows
-- the desired stable only once that version is ready on every live replica of the pool.
CREATE TABLE deployment_revisions (
    model       text        NOT NULL REFERENCES models (name),
    revision    bigint      NOT NULL CHECK (revision > 0),
    spec        jsonb       NOT NULL,
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, revision)
);

CREATE TABLE deployments (
    model          text        PRIMARY KEY REFERENCES models (name),
    revision       bigint      NOT NULL,
    serving_stable bigint      NULL,
    updated_at     timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (model, revision) REFERENCES deployment_revisions (model, revision)
);

-- Inference replicas, as their heartbeats report them. Live while last_seen is within the TTL.
CREATE TABLE replicas (
    id         text        PRIMARY KEY,
    pool       text        NOT NULL DEFAULT 'cpu',
    http_url   text        NOT NULL,
    grpc_url   text        NULL,
    started_at timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL DEFAULT now()
);

-- Per replica and model version: loading / ready / failed (with the reason), as last reported.
CREATE TABLE replica_models (
    replica    text        NOT NULL REFERENCES replicas (id) ON DELETE CASCADE,
    model      text        NOT NULL,
    version    bigint      NOT NULL,
    state      text        NOT NULL CHECK (state IN ('loading', 'ready', 'failed', 'unloading')),
    reason     text        NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (replica, model, version)
);
