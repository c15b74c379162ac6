-- Audit entries say what changed (target), and how (before/after), and can never be edited or removed.
ALTER TABLE audit_log
    ADD COLUMN target text  NULL,
    ADD COLUMN before jsonb NULL,
    ADD COLUMN after  jsonb NULL;

CREATE INDEX audit_log_occurred_at ON audit_log (occurred_at DESC);

CREATE FUNCTION audit_log_is_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only: % is not allowed', TG_OP;
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_is_append_only();
