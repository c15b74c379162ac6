-- The model registry: models and their immutable numbered versions. Artifacts live in the
-- content-addressed artifact store; a row names one by digest.
CREATE TABLE models (
    name        text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
    description text        NOT NULL DEFAULT '',
    task        text        NOT NULL,
    tags        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    owner       text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX models_tags ON models USING gin (tags);

CREATE TABLE model_versions (
    model            text        NOT NULL REFERENCES models (name),
    version          bigint      NOT NULL CHECK (version > 0),
    digest           text        NOT NULL CHECK (digest ~ '^sha256:[0-9a-f]{64}$'),
    size_bytes       bigint      NOT NULL CHECK (size_bytes >= 0),
    format           text        NOT NULL DEFAULT 'onnx',
    -- The repository config (API.md's config.json) as uploaded, or as completed from the artifact.
    config           jsonb       NOT NULL,
    -- What the artifact's metadata says: inputs, outputs, opset, producer.
    signature        jsonb       NOT NULL DEFAULT '{}'::jsonb,
    lineage          jsonb       NOT NULL DEFAULT '{}'::jsonb,
    baseline_profile jsonb       NULL,
    created_by       text        NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version)
);
