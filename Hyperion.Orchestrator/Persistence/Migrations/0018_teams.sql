-- Issue 18 item 4: teams. A model may belong to a team, and a key may too: a team's key acts only on its team's
-- models. Both columns are nullable and start empty, so every existing model and key behaves as before.
CREATE TABLE teams (
    name        text        PRIMARY KEY CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$'),
    description text        NOT NULL DEFAULT '',
    created_by  text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

ALTER TABLE models ADD COLUMN team text NULL REFERENCES teams (name);
ALTER TABLE api_keys ADD COLUMN team text NULL REFERENCES teams (name);
CREATE INDEX models_team ON models (team) WHERE team IS NOT NULL;
