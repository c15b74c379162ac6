-- Progressive delivery. One row per model: its current (or last) rollout, driven by the rollout controller.
-- Orchestrator replicas take turns on a row with SELECT ... FOR UPDATE SKIP LOCKED, so a rollout is never acted
-- on twice. Every decision is also in audit_log (with its evidence) and in webhook_outbox.
CREATE TABLE rollouts (
    model             text             PRIMARY KEY REFERENCES models (name),
    -- The deployment revision the rollout is at: the one that started it, then each one it wrote. Another
    -- revision (a user's PUT) ends or restarts the rollout.
    revision          bigint           NOT NULL,
    started_revision  bigint           NOT NULL,
    stable_version    bigint           NOT NULL,
    canary_version    bigint           NOT NULL,
    -- The plan with defaults applied: version, steps, step_seconds, min_requests and the gates.
    plan              jsonb            NOT NULL,
    state             text             NOT NULL CHECK (state IN ('progressing', 'paused', 'promoted', 'rolled_back')),
    step              integer          NOT NULL CHECK (step >= 0),
    percent           double precision NOT NULL CHECK (percent >= 0 AND percent <= 100),
    started_at        timestamptz      NOT NULL DEFAULT now(),
    -- When the current step's window started; null until the canary takes traffic (its version is loading).
    step_started_at   timestamptz      NULL,
    -- The arms' cumulative gateway counters when the step started ({"stable": ..., "canary": ...}), and the
    -- stable arm's when the first step started: windows are differences from these.
    baseline          jsonb            NULL,
    rollout_baseline  jsonb            NULL,
    last_action       text             NULL,
    last_decision_at  timestamptz      NULL,
    reason            text             NULL,
    -- The numbers behind the last decision (per arm: requests, errors, error rate, p95; the gates).
    evidence          jsonb            NULL,
    updated_at        timestamptz      NOT NULL DEFAULT now()
);

-- Blue-green: the stable version that stopped serving at the last switch stays loaded until previous_stable_until,
-- so that a rollback is instant (Orchestrator:Rollouts:PreviousStableRetentionSeconds).
ALTER TABLE deployments
    ADD COLUMN previous_stable       bigint      NULL,
    ADD COLUMN previous_stable_until timestamptz NULL;
