"""The web dashboard: its static files and how they are served, and the pages in a real browser."""
