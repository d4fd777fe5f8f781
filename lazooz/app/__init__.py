"""The peer app: the web UI each node serves to its own member at ``/app``.

Static files only (``static/``: the page, its script and style, and Leaflet
1.9.4 vendored from npm with its licence), served by ``pages.Pages`` through
the control server. Everything the page shows comes from the control API,
called with the bearer token the page is given in its URL's fragment
(``lazooz app`` prints that URL). docs/app.md.
"""
