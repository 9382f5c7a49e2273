-- Death causes reach core as platform codes (config/vocabularies.toml [death_cause] and the
-- sites' codes), the site's text kept beside them. Core is rebuilt by the next refresh; until
-- then the rows already there keep the text they had in both columns.
ALTER TABLE core.outcomes ADD COLUMN death_cause_as_sent VARCHAR;
UPDATE core.outcomes SET death_cause_as_sent = death_cause;
