"""The web UI at `/`: server-rendered pages (Jinja2), live through server-sent events and htmx.

`routes.routes` is what `smsgrid.server` mounts. Pure pieces (`stats`, `conversations`, `timeline`, `forms`,
`live.Versions`) decide what to show; `pages` and `actions` read through the app context and render.
"""
