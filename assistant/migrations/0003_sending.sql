-- Issue 5: drafts worth sending, review and sending.
--
-- drafts.state is now: pending (rendered, not yet in Drafts) -> appended -> sending
-- (claimed for SMTP: a crash leaves it here, and a retry looks in Sent before anything
-- else) -> submitted (the SMTP server took it, the bookkeeping is still to do) -> sent.
-- Or discarded (its task was dismissed).
-- task_tag: the X-Assistant-Task header value.  edited: the user changed it (in review
-- or in the mail client).  last_error: why the last send failed.  sent_content: the
-- bytes submitted, with Bcc (the copy for Sent).
ALTER TABLE drafts ADD COLUMN task_tag TEXT;
ALTER TABLE drafts ADD COLUMN edited INTEGER NOT NULL DEFAULT 0;
ALTER TABLE drafts ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE drafts ADD COLUMN last_error TEXT;
ALTER TABLE drafts ADD COLUMN sent_at TEXT;
ALTER TABLE drafts ADD COLUMN sent_content BLOB;
CREATE INDEX drafts_state ON drafts (account, state);

-- What threading and reply-all need from the original message (filled by the scan).
-- recipients: JSON {"to": [[name, email]], "cc": [...], "reply_to": [...]}.
-- refs: its References, "<a> <b>".  excerpt: the start of its new text (quotes cut).
ALTER TABLE messages ADD COLUMN recipients TEXT;
ALTER TABLE messages ADD COLUMN refs TEXT;
ALTER TABLE messages ADD COLUMN excerpt TEXT;

-- A rule action's `auto_send = true`, copied onto the task it opens (off by default).
ALTER TABLE tasks ADD COLUMN auto_send INTEGER NOT NULL DEFAULT 0;
