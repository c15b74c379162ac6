-- Issue 18: a version's lifecycle (archived now; staging and production later, in the same column), its model
-- card, and deleting an unused version.

-- Where a version is in its life. 'none' until someone moves it; 'archived' is kept and readable but cannot be
-- named by a deployment. Stages (staging, production) extend this constraint, not the table.
ALTER TABLE model_versions
    ADD COLUMN stage text NOT NULL DEFAULT 'none',
    ADD CONSTRAINT model_versions_stage CHECK (stage IN ('none', 'archived'));

-- A version stays immutable except for its stage: its digest, config and lineage are what deployments and audits
-- refer to. The only update allowed changes the stage and nothing else; the rest of the row is compared as a
-- whole, so a column added later is protected too.
CREATE OR REPLACE FUNCTION model_versions_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.stage IS DISTINCT FROM OLD.stage AND (to_jsonb(NEW) - 'stage') = (to_jsonb(OLD) - 'stage') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'model versions are immutable: % of %/% is not allowed; register a new version', TG_OP, OLD.model, OLD.version;
END;
$$;

-- The highest number a model's versions ever had: a deleted version's number is never given again (caches,
-- audit entries and replicas may still name it).
ALTER TABLE models ADD COLUMN last_version bigint NOT NULL DEFAULT 0;
UPDATE models m SET last_version = coalesce((SELECT max(v.version) FROM model_versions v WHERE v.model = m.name), 0);

-- One card per version: what it is for and how far to trust it. Unlike the version it documents, a card may be
-- rewritten (every write is audited); it goes with its version.
CREATE TABLE model_cards (
    model      text        NOT NULL,
    version    bigint      NOT NULL,
    -- intended_use, limitations, evaluation_metrics, fairness_notes, owner, contact: as validated.
    card       jsonb       NOT NULL,
    updated_by text        NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (model, version),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version) ON DELETE CASCADE
);
