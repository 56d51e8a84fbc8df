-- Scan state, messages seen, people, leads, tasks with their history, drafts.

CREATE TABLE folders (
    account      TEXT NOT NULL,
    folder       TEXT NOT NULL,
    uidvalidity  INTEGER NOT NULL,
    last_uid     INTEGER NOT NULL DEFAULT 0,   -- every UID up to this one is done
    highestmodseq INTEGER,                     -- CONDSTORE, where the server has it
    updated_at   TEXT NOT NULL,
    PRIMARY KEY (account, folder)
);

-- One row a message, whatever folder (or folders) it was found in.
CREATE TABLE messages (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    folder      TEXT NOT NULL,
    uid         INTEGER NOT NULL,
    date        TEXT,
    sender      TEXT,
    subject     TEXT,
    kind        TEXT,
    confidence  REAL,
    detection   TEXT,                          -- JSON: Detection.as_dict()
    status      TEXT NOT NULL CHECK (status IN ('processed', 'skipped')),
    reason      TEXT,                          -- why it was skipped
    seen_at     TEXT NOT NULL,
    UNIQUE (account, message_id)
);

-- A person, however many addresses they write from.
CREATE TABLE contacts (
    id             INTEGER PRIMARY KEY,
    name           TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    last_contacted TEXT
);
CREATE TABLE contact_addresses (
    email      TEXT PRIMARY KEY,
    contact_id INTEGER NOT NULL REFERENCES contacts(id)
);

-- The introduction, referral, lead or request that tasks follow up.
CREATE TABLE leads (
    id          INTEGER PRIMARY KEY,
    account     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    referrer_id INTEGER REFERENCES contacts(id),
    company     TEXT,
    role        TEXT,
    subject     TEXT,
    state       TEXT NOT NULL DEFAULT 'open',
    created_at  TEXT NOT NULL,
    UNIQUE (account, message_id)
);
CREATE TABLE lead_contacts (
    lead_id    INTEGER NOT NULL REFERENCES leads(id),
    contact_id INTEGER NOT NULL REFERENCES contacts(id),
    PRIMARY KEY (lead_id, contact_id)
);

CREATE TABLE tasks (
    id            INTEGER PRIMARY KEY,
    key           TEXT NOT NULL UNIQUE,        -- message + task kind + person: never opened twice
    account       TEXT NOT NULL,
    lead_id       INTEGER NOT NULL REFERENCES leads(id),
    kind          TEXT NOT NULL,
    contact_id    INTEGER REFERENCES contacts(id),  -- whom the task is about / writes to
    title         TEXT NOT NULL,
    status        TEXT NOT NULL DEFAULT 'open'
                  CHECK (status IN ('open', 'snoozed', 'done', 'dismissed', 'cold')),
    due           TEXT NOT NULL,               -- ISO 8601 with offset
    priority      INTEGER NOT NULL DEFAULT 0,
    rule          TEXT NOT NULL,
    template      TEXT,
    message_id    TEXT NOT NULL,               -- the email that opened it
    snoozed_until TEXT,
    done_how      TEXT,
    dismissed_reason TEXT,
    created_at    TEXT NOT NULL,
    updated_at    TEXT NOT NULL
);
CREATE INDEX tasks_status_due ON tasks (status, due);

CREATE TABLE task_events (
    id      INTEGER PRIMARY KEY,
    task_id INTEGER NOT NULL REFERENCES tasks(id),
    at      TEXT NOT NULL,
    status  TEXT NOT NULL,
    note    TEXT
);

-- A rendered draft and where it is: pending (not yet in the Drafts folder), appended, ...
CREATE TABLE drafts (
    task_id    INTEGER PRIMARY KEY REFERENCES tasks(id),
    message_id TEXT NOT NULL UNIQUE,
    account    TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject    TEXT NOT NULL,
    content    BLOB NOT NULL,                  -- the RFC 5322 bytes
    state      TEXT NOT NULL DEFAULT 'pending',
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
