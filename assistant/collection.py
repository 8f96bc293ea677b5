"""Facts about the library computed from its indexed documents: how many, the years they span, what changed since."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

# Changes to the NHS the documents may predate: primary care networks began in July 2019 (Network Contract DES);
# integrated care boards replaced clinical commissioning groups on 1 July 2022 (Health and Care Act 2022).
PCN_YEAR, ICB_YEAR = 2019, 2022
_NUMBERS = "no one two three four five six seven eight nine ten eleven twelve".split()
# A year a question names: 2000-2099, alone or as a financial year ("2024/25"), not part of a longer number.
_YEAR_RE = re.compile(r"(?<![\d/])(20\d\d)(?:/\d{2}(?!\d))?(?![\d/])")
_ICB_ITSELF = re.compile(
    r"\b(duties|powers|statutory|responsibilit\w+|functions?)\b.{0,40}\b(integrated care boards?|ICBs?)\b|"
    r"\b(integrated care boards?|ICBs?)\b.{0,20}\b(duties|powers|statutory)\b", re.IGNORECASE)


@dataclass(frozen=True)
class LibraryDocument:
    """One indexed document as the library describes it: file, title, publisher, year, kind and when it was added."""

    filename: str
    title: str
    publisher: str = ""
    year: int | None = None
    kind: str = ""
    added: str = ""  # ISO date a locally added document was first indexed; '' for the published library


@dataclass(frozen=True)
class Collection:
    """The indexed documents, and every fact the answers and documents state about them as a whole."""

    documents: tuple[LibraryDocument, ...] = ()

    @classmethod
    def from_records(cls, records: Iterable[Mapping]) -> "Collection":
        """A collection from document records ({filename, title, publisher, year, kind, added}), in file order."""
        docs = []
        for r in records:
            year = r.get("year")
            docs.append(LibraryDocument(filename=str(r.get("filename", "")), title=str(r.get("title", "")),
                                        publisher=str(r.get("publisher") or ""),
                                        year=int(year) if isinstance(year, int) else None,
                                        kind=str(r.get("kind") or ""), added=str(r.get("added") or "")))
        return cls(tuple(sorted(docs, key=lambda d: d.filename)))

    @property
    def years(self) -> list[int]:
        """The publication years of the documents that give one, in order."""
        return sorted(d.year for d in self.documents if d.year is not None)

    def span(self) -> str:
        """'2013 to 2018', '2020' for one year, or '' when no document gives a year."""
        years = self.years
        if not years:
            return ""
        return str(years[0]) if years[0] == years[-1] else f"{years[0]} to {years[-1]}"

    def count_words(self) -> str:
        """How many documents, in words: 'five documents', 'one document', '14 documents'."""
        n = len(self.documents)
        return f"{_NUMBERS[n] if n < len(_NUMBERS) else n} document{'' if n == 1 else 's'}"

    def covers(self, year: int) -> bool:
        """Whether some document is from `year` or later, and so may speak about it."""
        return bool(self.years) and year <= self.years[-1]

    def dated(self) -> str:
        """'The documents date from 2013 to 2018' (or 'The document dates from 2020'), '' without years."""
        span = self.span()
        if not span:
            return ""
        many = len(self.documents) > 1
        return f"The {'documents date' if many else 'document dates'} from {span}"

    def since(self) -> str:
        """What has changed in the NHS since the latest document (PCNs, ICBs), '' when it postdates both."""
        years = self.years
        if not years or years[-1] >= ICB_YEAR:
            return ""
        last = years[-1]
        icbs = "clinical commissioning groups (CCGs) were replaced by integrated care boards (ICBs) in July 2022"
        if last >= PCN_YEAR:
            return f"Since then {icbs}: read what they say about CCGs as background for ICBs, not as current duties."
        return (f"Primary care networks arrived in {PCN_YEAR}, and {icbs}: read what they say about CCGs as "
                "background for ICBs, not as current duties.")

    def publishers(self) -> list[str]:
        """The documents' publishers, each once, in the short form ('Healthy London Partnership')."""
        names = [re.split(r" \(|, for ", d.publisher)[0].strip() for d in self.documents]
        return list(dict.fromkeys(n for n in names if n and n != "Unknown publisher"))

    def prompt_values(self) -> dict[str, str]:
        """What the model's prompts say about the library: $library, $dates_note, $last_year and $dated."""
        span, years, by = self.span(), self.years, self.publishers()
        library = self.count_words() + (f" published from {span}" if span else "") + (
            f" by {', '.join(by[:-1])} and {by[-1]}" if len(by) > 1 else f" by {by[0]}" if by else "")
        dated = self.dated()
        last = str(years[-1]) if years else "the latest document"
        note = f"{dated}. Do not describe events after {last}." if dated else ""
        if years and years[-1] < ICB_YEAR:
            pcns = f"primary care networks (PCNs) were introduced in {PCN_YEAR}, and " if years[-1] < PCN_YEAR else ""
            note = (f"{dated}. Where it matters to the answer, note that some arrangements they describe have since "
                    f"changed: {pcns}clinical commissioning groups (CCGs) were replaced by integrated care boards "
                    f"(ICBs) in July 2022. Do not cite a passage for that note and do not otherwise describe events "
                    f"after {last}.")
        before = ", before ICBs replaced CCGs" if years and years[-1] < ICB_YEAR else ""
        return {"library": library, "dates_note": note, "last_year": last,
                "dated": f"they were published {span}{before}" if span else "see each document's year"}

    def date_note(self) -> str:
        """The note under every exported document: the library's dates and what changed after them."""
        dated = self.dated()
        return " ".join(x for x in (f"{dated}." if dated else "", self.since()) if x)

    def beyond(self, question: str) -> str:
        """Why the library cannot answer `question` (a year after its latest document, ICBs' own duties), or ''."""
        years = self.years
        if not years:
            return ""
        dated = self.dated()
        if _ICB_ITSELF.search(question) and not self.covers(ICB_YEAR):
            return (f"{dated}, before integrated care boards replaced CCGs in {ICB_YEAR}, so they say nothing "
                    "about ICBs' own duties; they do describe what CCGs did.")
        later = [m for m in _YEAR_RE.finditer(question) if not self.covers(int(m.group(1)))]
        if not later:
            return ""
        named = later[0].group(0)
        changes = [f"Primary Care Networks ({PCN_YEAR})" if years[-1] < PCN_YEAR else "",
                   f"integrated care boards ({ICB_YEAR}, replacing CCGs)" if years[-1] < ICB_YEAR else ""]
        arrived = " and ".join(c for c in changes if c)
        return f"{dated}, so they cannot say anything about {named}" + (
            f"; since then {arrived} have arrived." if arrived else ".")
