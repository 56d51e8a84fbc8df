-- Why a task could not be drafted (no address to write to, a broken template), so that
-- each scan does not try again; review tries again on demand.
ALTER TABLE tasks ADD COLUMN draft_error TEXT;
