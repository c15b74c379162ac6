-- A registered version never changes: its digest, config and lineage are what deployments and audits refer to.
CREATE FUNCTION model_versions_are_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'model versions are immutable: % of %/% is not allowed; register a new version', TG_OP, OLD.model, OLD.version;
END;
$$;

CREATE TRIGGER model_versions_immutable
    BEFORE UPDATE ON model_versions
    FOR EACH ROW EXECUTE FUNCTION model_versions_are_immutable();
