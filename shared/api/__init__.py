"""The read side shared by the HTTP routes and the command line: stored images, SBOMs and findings, and the
listings and searches across them (repositories, images, advisories, packages)."""
