-- signclip search schema, version 3: a version counter per dataset, raised by every statement that changes
-- the dataset's items or embeddings (statement-level triggers over transition tables, so a bulk load costs
-- one update per dataset, not one per row). Searches cache what they derive from a dataset (its models,
-- languages, the relevance null sample) under its version, and see a change at their next lookup.

ALTER TABLE datasets ADD COLUMN version bigint NOT NULL DEFAULT 0;

CREATE FUNCTION signclip_bump_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE datasets SET version = version + 1 WHERE id IN (SELECT DISTINCT dataset_id FROM changed_rows);
    RETURN NULL;
END $$;

CREATE FUNCTION signclip_bump_updated() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE datasets SET version = version + 1
    WHERE id IN (SELECT dataset_id FROM changed_rows UNION SELECT dataset_id FROM previous_rows);
    RETURN NULL;
END $$;

CREATE TRIGGER items_inserted AFTER INSERT ON items REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION signclip_bump_changed();
CREATE TRIGGER items_updated AFTER UPDATE ON items REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION signclip_bump_updated();
CREATE TRIGGER items_deleted AFTER DELETE ON items REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION signclip_bump_changed();
CREATE TRIGGER embeddings_inserted AFTER INSERT ON embeddings REFERENCING NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION signclip_bump_changed();
CREATE TRIGGER embeddings_updated AFTER UPDATE ON embeddings
    REFERENCING OLD TABLE AS previous_rows NEW TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION signclip_bump_updated();
CREATE TRIGGER embeddings_deleted AFTER DELETE ON embeddings REFERENCING OLD TABLE AS changed_rows
    FOR EACH STATEMENT EXECUTE FUNCTION signclip_bump_changed();
