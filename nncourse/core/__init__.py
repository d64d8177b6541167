"""The bottom layer: course paths and settings, result records, the gradebook, the lock,
safe text, and the notebook markers and cell kinds.  Imports nothing else of nncourse."""
