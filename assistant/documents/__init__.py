"""Documents: briefing notes and workshop packs built from the reports, and their export.

Each module imports only those listed before it: outline (what every document exports, the numbered reference
list), figures (case-study organisations and the figures reports give), library (what the generators need from the
Assistant), writing (extractive or prompted text), briefing and workshop (the generators), export (Markdown and Word
of a document or an Answer).
"""
