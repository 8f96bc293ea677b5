"""Answering: the Answerer protocol, the extractive and LLM answerers, prompts, citations, guardrails."""
