"""Checkpoints: written atomically, what they record (provenance), exact resume, and loading to predict."""
