"""The web dashboard: its static files (``static/``) and the rules for serving them (:mod:`.assets`).

The dashboard is plain HTML, CSS and JavaScript modules with no build step. It reads everything it
shows from the HTTP API in the browser; nothing here touches a store or a registry.
"""
