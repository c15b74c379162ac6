-- The latest quality metrics of each monitored version, written by whichever orchestrator replica ran the
-- schedule's round and read back by every replica, so each exports the same model-quality gauges.
CREATE TABLE quality_results (
    model        text        NOT NULL,
    version      bigint      NOT NULL,
    computed_at  timestamptz NOT NULL DEFAULT now(),
    -- Metric name -> value: accuracy, macro_f1 (classification) or mae, rmse (regression).
    metrics      jsonb       NOT NULL,
    PRIMARY KEY (model, version)
);
