"""The ACS SMS data plane, declared once: every api-version Microsoft publishes, its operations and their shapes.

`versions.py` is the table (version → operations → shapes), `models.py` the typed shapes, the pydantic wire models
made from them and the parsed requests, `validation.py` the pure parsing that the table drives, `openapi.py` the
data plane's entries of the OpenAPI operation table, generated from it.
"""
