-- Finding a contact by address owner or by name must not read every contact: a first
-- scan of a large mailbox looks up a contact for each person in each lead.
CREATE INDEX contact_addresses_contact ON contact_addresses (contact_id);
CREATE INDEX contacts_name ON contacts (lower(name));
CREATE INDEX contact_names_name ON contact_names (lower(name));
-- A message in Sent is matched to the open tasks that write to its recipients.
CREATE INDEX tasks_to_email ON tasks (to_email);
