-- Centres that send the echo conclusion only: LVEF is read from the text, and the row says so.
ALTER TABLE core.echos ADD COLUMN lvef_source VARCHAR;  -- structured | text | NULL (no LVEF)
