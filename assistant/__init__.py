"""assistant: a local-first email follow-up assistant for job seekers.

The pipeline, one module a stage: source (imap, maildir) -> parse -> detect -> rules
-> store (tasks) -> drafts; scan runs it, cli is the command line.
"""

__version__ = "0.1.0"
