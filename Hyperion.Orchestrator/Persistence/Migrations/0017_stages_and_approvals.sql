-- Issue 18 item 2: stages and approvals. A version moves none → staging → production → archived (in the stage
-- column 0013 added), and a model may require that a second key, one with the 'approve' scope, makes the move to
-- production; a deployment of such a model takes only production versions as stable. Who moved a version and why
-- is in the audit log (version.stage_changed), which the version's view reads back.
ALTER TABLE model_versions
    DROP CONSTRAINT model_versions_stage,
    ADD CONSTRAINT model_versions_stage CHECK (stage IN ('none', 'staging', 'production', 'archived'));

-- The model's approval policy: false (the default, and every existing model) keeps stage moves and deployments as
-- they were.
ALTER TABLE models ADD COLUMN require_approval boolean NOT NULL DEFAULT false;
