"""The ACS SMS data plane, declared once: every api-version Microsoft publishes, its operations and their shapes.

`versions.py` is the table (version → operations → shapes), `models.py` the typed shapes and parsed requests,
`validation.py` the pure parsing that the table drives, `openapi.py` the OpenAPI schemas generated from it.
"""
