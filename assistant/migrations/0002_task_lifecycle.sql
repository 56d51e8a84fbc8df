-- The task lifecycle: whom a task is about (besides whom it writes to), nudge numbers,
-- each contact's follow-up state within a lead, and the history of those states.

-- The contact a task is about: for reach_out/nudge the person written to; for a thank
-- or report-back (written to the referrer) the lead's contact.  NULL where none.
ALTER TABLE tasks ADD COLUMN about_id INTEGER REFERENCES contacts(id);
-- The address the task writes to, as the message gave it (a contact may have several).
ALTER TABLE tasks ADD COLUMN to_email TEXT;
UPDATE tasks SET to_email = (SELECT email FROM contact_addresses WHERE contact_id = tasks.contact_id ORDER BY rowid LIMIT 1);
-- Which nudge this is (1, 2, ...); 0 for every other task.
ALTER TABLE tasks ADD COLUMN step INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET about_id = CASE
    WHEN contact_id IS NOT (SELECT referrer_id FROM leads WHERE leads.id = tasks.lead_id) THEN contact_id
    ELSE (SELECT MIN(contact_id) FROM lead_contacts WHERE lead_contacts.lead_id = tasks.lead_id) END;
CREATE INDEX tasks_lead ON tasks (lead_id);
CREATE INDEX task_events_task ON task_events (task_id, at);

-- Where the outreach to each contact of a lead stands:
--   new (not written to yet), contacted (outreach or nudge sent, waiting), replied, cold.
ALTER TABLE lead_contacts ADD COLUMN state TEXT NOT NULL DEFAULT 'new'
    CHECK (state IN ('new', 'contacted', 'replied', 'cold'));
-- Nudges sent, when the last outreach or nudge went out, when the contact replied.
ALTER TABLE lead_contacts ADD COLUMN nudges INTEGER NOT NULL DEFAULT 0;
ALTER TABLE lead_contacts ADD COLUMN last_sent_at TEXT;
ALTER TABLE lead_contacts ADD COLUMN replied_at TEXT;

-- Every change of a lead's or a lead contact's state, for the stats (contact_id NULL: the lead).
CREATE TABLE lead_events (
    id         INTEGER PRIMARY KEY,
    lead_id    INTEGER NOT NULL REFERENCES leads(id),
    contact_id INTEGER REFERENCES contacts(id),
    at         TEXT NOT NULL,
    state      TEXT NOT NULL,
    note       TEXT
);
CREATE INDEX lead_events_lead ON lead_events (lead_id, at);

-- The names a contact has appeared with (one person, many spellings and addresses).
CREATE TABLE contact_names (
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    name       TEXT NOT NULL,
    PRIMARY KEY (contact_id, name)
);
INSERT OR IGNORE INTO contact_names (contact_id, name) SELECT id, name FROM contacts WHERE name <> '';
