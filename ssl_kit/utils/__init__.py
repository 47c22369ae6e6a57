"""Small runtime helpers: CPU thread counts and objects named by dotted paths."""
