"""The control API: a local HTTP+JSON surface over one node, for the CLI and the web UI.

``handle`` says what the API needs of a node (``NodeHandle``); ``app`` is the
starlette application (``make_app``); ``server`` serves it with hypercorn's
trio worker and keeps the token and port files; ``client`` is what the CLI
calls. docs/node.md, "Control API".
"""
