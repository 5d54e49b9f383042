"""Base images: recognising the image an image was built on by its layer diff-ID chain, splitting findings
into those of the base and those the image added, and recommending other tags of the base."""
