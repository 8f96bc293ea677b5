"""The evaluation harness: runner, metrics, report, baselines and relevance judging, beside its data."""
