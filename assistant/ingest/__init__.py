"""Ingest: load, clean, label sections, chunk and index the knowledge files."""
