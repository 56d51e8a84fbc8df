# The Jinja templates that draft follow-up mail; a package only so that they ship with
# `assistant` and are found with importlib.resources.  Users override them by file name
# in the folder named by [drafts] templates_dir.
