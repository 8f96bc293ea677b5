"""The `assistant` command over the one Assistant API: ingest, ask, retrieve, serve, brief, workshop, eval."""
