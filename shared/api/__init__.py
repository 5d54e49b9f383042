"""The read side shared by the HTTP routes and the command line: stored images, SBOMs and findings."""
