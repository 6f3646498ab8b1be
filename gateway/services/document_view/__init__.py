"""The document view: a request as sections of labelled values, in the order the PDF prints.

One pure view model shared by the print templates (workers, WeasyPrint) and the "what you
sign" preview (web), so the two cannot drift. No renderer is imported here.
"""
