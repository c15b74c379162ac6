-- Pipelines: named graphs of model steps. Every change is a new revision, kept and never edited;
-- pipelines.revision names the current one. Deleting a pipeline keeps its revisions (history, and
-- the numbering a later PUT of the same name continues).
CREATE TABLE pipeline_revisions (
    pipeline   text        NOT NULL CHECK (pipeline ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
    revision   bigint      NOT NULL CHECK (revision > 0),
    -- The body as PUT, checked.
    spec       jsonb       NOT NULL,
    -- What the gateway runs: steps in an order that respects every edge, each input's source resolved.
    plan       jsonb       NOT NULL,
    created_by text        NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (pipeline, revision)
);

CREATE TABLE pipelines (
    name       text        PRIMARY KEY,
    revision   bigint      NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    FOREIGN KEY (name, revision) REFERENCES pipeline_revisions (pipeline, revision)
);

CREATE FUNCTION pipeline_revisions_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'pipeline revisions are immutable: % of %/% is not allowed; PUT the pipeline to make a new revision', TG_OP, OLD.pipeline, OLD.revision;
END;
$$;

CREATE TRIGGER pipeline_revisions_immutable
    BEFORE UPDATE OR DELETE ON pipeline_revisions
    FOR EACH ROW EXECUTE FUNCTION pipeline_revisions_are_immutable();
