"""Documents: briefing notes and workshop packs built from the reports, and their export."""
