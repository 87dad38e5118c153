"""Activities: the attempt workflow's only way to touch ProctorFree and the database."""
