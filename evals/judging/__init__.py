"""Relevance judging by blind pooling: build the pools, merge the judgments into the datasets."""
