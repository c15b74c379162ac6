-- Batch jobs: a file of instances scored asynchronously by a model version or a pipeline. The input is split
-- into chunks when it is submitted, each chunk a blob in the artifact store; workers on any orchestrator replica
-- lease chunks, score them and store each chunk's results as another blob. A chunk's results are recorded by the
-- worker that holds its lease, in the same statement that closes it, so every line has exactly one result.
CREATE TABLE jobs (
    id             uuid        PRIMARY KEY,
    target_kind    text        NOT NULL CHECK (target_kind IN ('model', 'pipeline')),
    target         text        NOT NULL,
    -- The version every line of a model job is scored by (the one asked for, or the stable at submission).
    version        bigint      NULL CHECK (version > 0),
    -- A pipeline job's revision at submission (the gateway runs the current one).
    revision       bigint      NULL CHECK (revision > 0),
    input_format   text        NOT NULL CHECK (input_format IN ('jsonl', 'csv')),
    state          text        NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    total          bigint      NOT NULL CHECK (total > 0),
    -- Lines with a result (outputs or an error), and of those the ones whose result is an error.
    done           bigint      NOT NULL DEFAULT 0 CHECK (done >= 0 AND done <= total),
    failed         bigint      NOT NULL DEFAULT 0 CHECK (failed >= 0 AND failed <= done),
    reason         text        NULL,
    webhook_url    text        NULL,
    -- Signs the deliveries to webhook_url (X-Hyperion-Signature); shown once, in the submission's answer.
    webhook_secret text        NULL,
    created_by     text        NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    started_at     timestamptz NULL,
    finished_at    timestamptz NULL,
    CHECK ((webhook_url IS NULL) = (webhook_secret IS NULL))
);

CREATE INDEX jobs_newest ON jobs (created_at DESC, id DESC);

CREATE TABLE job_chunks (
    job_id        uuid        NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    chunk         integer     NOT NULL CHECK (chunk >= 0),
    first_line    bigint      NOT NULL CHECK (first_line >= 0),
    lines         integer     NOT NULL CHECK (lines > 0),
    input_digest  text        NOT NULL,
    state         text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'running', 'done')),
    lease_owner   text        NULL,
    lease_until   timestamptz NULL,
    attempts      integer     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    succeeded     integer     NOT NULL DEFAULT 0 CHECK (succeeded >= 0),
    failed        integer     NOT NULL DEFAULT 0 CHECK (failed >= 0),
    result_digest text        NULL,
    finished_at   timestamptz NULL,
    PRIMARY KEY (job_id, chunk),
    CHECK ((state = 'running') = (lease_owner IS NOT NULL AND lease_until IS NOT NULL)),
    CHECK ((state = 'done') = (result_digest IS NOT NULL)),
    CHECK (state <> 'done' OR succeeded + failed = lines)
);

-- What workers look for: chunks not done yet.
CREATE INDEX job_chunks_open ON job_chunks (job_id, chunk) WHERE state <> 'done';

-- A job's own webhook (its spec's webhook_url) is a delivery like a configured webhook's, sent by the same outbox:
-- the row carries the receiver's URL and secret instead of naming a configured webhook.
ALTER TABLE webhook_outbox ADD COLUMN url text NULL, ADD COLUMN secret text NULL;
ALTER TABLE webhook_outbox ADD CHECK ((url IS NULL) = (secret IS NULL));
