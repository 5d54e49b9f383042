"""Images as Lookout records them: the pushed manifest, its platforms, tags and analysis status."""
