"""Search: embeddings, the Chroma store and SQLite record, hybrid retrieval and the rerank."""
