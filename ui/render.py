"""Turn answers, sources, status and ingest reports into escaped Markdown/HTML: user and document text is never markup."""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.answering.citations import MARKER, UNVERIFIED
from assistant.documents.outline import reference_label

# Characters that Markdown or HTML could read as syntax anywhere, and line starts that make blocks
# (headings, lists, quotes, rules); written as character references, which Markdown shows literally.
_INLINE = {"&": "&amp;", "<": "&lt;", ">": "&gt;", "*": "&#42;", "_": "&#95;", "`": "&#96;", "[": "&#91;",
           "]": "&#93;", "\\": "&#92;", "|": "&#124;", "~": "&#126;", "$": "&#36;"}
_INLINE_RE = re.compile("[" + re.escape("".join(_INLINE)) + "]")
_BULLET_LINE = re.compile(r"^([ \t]*)&#45; (?=\S)", re.MULTILINE)
_URL = re.compile(r"\bhttps?://[^\s<>\[\]()\"'`]+")
_LINE_START = re.compile(r"^([ \t]*)([#=+-]|\d+(?=[.)]))", re.MULTILINE)


# What Markdown would turn into a link by itself (https://..., www...., name@host): written as character references,
# so an address in a question or a report shows as text and nobody is sent anywhere by a click.
_AUTOLINK = re.compile(r"(?<=[A-Za-z]):(?=//)|//|(?<=\bwww)\.|@", re.IGNORECASE)


def md_text(text: str) -> str:
    """Text for a Markdown component that displays literally (no Markdown, no HTML, no links made from addresses)."""
    out = _INLINE_RE.sub(lambda m: _INLINE[m.group()], text or "")
    out = _AUTOLINK.sub(lambda m: "".join(f"&#{ord(c)};" for c in m.group()), out)
    return _LINE_START.sub(lambda m: m.group(1) + "".join(f"&#{ord(c)};" for c in m.group(2)), out)


def esc(text: object) -> str:
    """HTML-escape any value for an HTML component."""
    return html.escape("" if text is None else str(text), quote=True)


def _numbers(group: str) -> list[int]:
    return [int(n) for n in re.findall(r"\d+", group)]


def answer_markdown(answer: dict, index: int) -> str:
    """An answer (Answer.to_json()) for the chat: escaped text, [n] linked to its source, notices above."""
    supported = {c["n"]: c["supported"] for c in answer.get("citations", [])}
    parts: list[str] = []
    for notice in answer.get("notices", []):
        parts.append(f"⚠ <strong>Note:</strong> {md_text(notice)}\n\n")
    text = answer.get("answer", "")
    pos = 0
    body: list[str] = []
    for m in MARKER.finditer(text):
        body.append(_plain(text[pos : m.start()]))
        links = []
        for n in _numbers(m.group(1)):
            if n in supported:
                flag = "" if supported[n] else " ⚠"
                title = f"Source {n}" + ("" if supported[n] else " (not verified)")
                links.append(f'<a href="#ans{index}-src{n}" title="{title}" aria-label="{title}">&#91;{n}{flag}&#93;</a>')
            else:
                links.append(md_text(m.group(0)))
        body.append("".join(links))
        pos = m.end()
    body.append(_plain(text[pos:]))
    parts.append("".join(body))
    # The answerer's own "- " bullet lines display as a list; everything else stays literal text.
    return _BULLET_LINE.sub(r"\1- ", "".join(parts))


def _plain(text: str) -> str:
    """Escaped answer text with web addresses as links, **bold** kept and the unverified flag emphasised."""
    out, pos = [], 0
    for m in _URL.finditer(text):
        url = m.group().rstrip(".,;:!?")  # a full stop after an address ends the sentence, not the address
        out.append(_words(text[pos : m.start()]))
        # A link written out: left to the Markdown autolinker, the escaped "]" after it joined the address.
        out.append(f'<a class="fa-url" href="{esc(url)}" target="_blank" rel="noopener noreferrer">{md_text(url)}</a>')
        pos = m.start() + len(url)
    out.append(_words(text[pos:]))
    return "".join(out)


def _words(text: str) -> str:
    out = md_text(text).replace(md_text(UNVERIFIED.strip()), "<em>(unverified)</em>")
    return re.sub(r"&#42;&#42;(.{1,400}?)&#42;&#42;", r"<strong>\1</strong>", out)


def streaming_markdown(text: str) -> str:
    """Answer text while it is still being written (markers not yet checked)."""
    return md_text(text) + " …"


def _where(c: dict) -> str:
    bits = [esc(c.get("publisher") or "Unknown publisher"), esc(c.get("year") or "n.d.")]
    if c.get("section"):
        bits.append(f"section “{esc(c['section'])}”")
    if c.get("pages") or c.get("page"):
        bits.append(f"pages {esc(c['pages'])}" if c.get("pages") else f"page {esc(c['page'])}")
    if c.get("added_locally"):
        bits.append(f"added locally on {esc(c['added_locally'])}")
    return " · ".join(bits)


def _find(text: str, quote: str) -> tuple[int, int] | None:
    """Where `quote` sits in `text` (whitespace-insensitive); a quote cut short with … runs on to its sentence end."""
    q = (quote or "").strip()
    cut = q.endswith("…")
    words = q.rstrip("…").split()
    if not words:
        return None
    m = re.search(r"\s+".join(re.escape(w) for w in words), text)
    if not m:
        return None
    end = m.end()
    if cut:
        stop = re.compile(r"[.!?](?=\s|$)").search(text, end)
        end = stop.end() if stop else len(text)
    return m.start(), end


def highlight(text: str, quote: str) -> tuple[str, bool]:
    """Escaped `text` with `quote` wrapped in <mark>; and whether the quote was found."""
    at = _find(text, quote)
    if not at:
        return esc(text), False
    s, e = at
    return f"{esc(text[:s])}<mark>{esc(text[s:e])}</mark>{esc(text[e:])}", True


def _excerpt(text: str, quote: str, context: int = 220) -> str:
    """The quote with some of the passage either side, highlighted."""
    at = _find(text, quote)
    if not at:
        return esc(quote or text[: context * 2])
    s, e = at
    start, stop = max(0, s - context), min(len(text), e + context)
    pre = ("…" if start else "") + text[start:s]
    post = text[e:stop] + ("…" if stop < len(text) else "")
    return f"{esc(pre)}<mark>{esc(text[s:e])}</mark>{esc(post)}"


def _source_html(c: dict, passage_text: str, index: int) -> str:
    n = c["n"]
    flag = ("" if c.get("supported", True) else
            '<p class="fa-flag" role="note">⚠ Not verified: the sentence citing this source could not be matched '
            "to the passage. Check it before relying on it.</p>")
    full, _ = highlight(passage_text, c.get("quote", ""))
    return (
        f'<article class="fa-source{"" if c.get("supported", True) else " fa-unverified"}" id="ans{index}-src{n}" '
        f'tabindex="-1" aria-labelledby="ans{index}-src{n}-t">'
        f'<h3 id="ans{index}-src{n}-t"><span class="fa-num">[{n}]</span> {esc(c.get("title"))}</h3>'
        f'<p class="fa-meta">{_where(c)}</p>{flag}'
        f'<blockquote class="fa-quote">{_excerpt(passage_text, c.get("quote", ""))}</blockquote>'
        f'<details class="fa-full"><summary>Show the full passage</summary><div class="fa-passage">{full}</div></details>'
        "</article>"
    )


def _answer_sources(answer: dict, index: int) -> str:
    texts = {p["chunk_id"]: p["text"] for p in answer.get("passages", [])}
    cites = answer.get("citations", [])
    head = f'<p class="fa-for">Answer {index}: “{esc(answer.get("question", ""))}”</p>'
    if not cites:
        return head + '<p class="fa-none">No sources were cited for this answer.</p>'
    return head + "".join(_source_html(c, texts.get(c["chunk_id"], c.get("quote", "")), index) for c in cites)


def sources_html(answers: Sequence[dict], keep: int | None = None) -> str:
    """The sources panel: the latest answer's sources open, those of the `keep` - 1 answers before it folded away
    (older ones are not sent again each turn: a 200-turn session re-sent 780 KB of sources per answer)."""
    if not answers:
        return ('<div class="fa-sources"><p class="fa-empty">Ask a question and the passages it is based on '
                "will appear here. Select a number such as [1] in an answer to jump to its source.</p></div>")
    last = len(answers)
    first = max(1, last - keep + 1) if keep else 1
    parts = [f'<section class="fa-group" id="ans{last}">{_answer_sources(answers[-1], last)}</section>']
    if last > first:
        earlier = "".join(
            f'<section class="fa-group" id="ans{i}">{_answer_sources(a, i)}</section>'
            for i, a in reversed(list(enumerate(answers[first - 1 : -1], start=first)))
        )
        parts.append(f'<details class="fa-earlier"><summary>Sources for earlier answers</summary>{earlier}</details>')
    return f'<div class="fa-sources">{"".join(parts)}</div>'


def status_html(status: dict) -> str:
    """The status line: which answerer serves and how much is indexed."""
    who = status.get("answerer", "offline")
    label = ("Offline answers (sentences quoted from the reports; no language model)" if who == "offline"
             else f"Language model: {who.removeprefix('llm:')}")
    span = f' ({esc(status["span"])})' if status.get("span") else ""
    return (f'<p class="fa-status" role="status"><strong>Answering with:</strong> {esc(label)} · '
            f'<strong>{esc(status.get("documents", 0))}</strong> documents{span} · '
            f'<strong>{esc(status.get("chunks", 0))}</strong> passages indexed</p>')


def documents_rows(documents: Sequence[dict]) -> list[list]:
    """Rows for the library table: title, publisher, year, passages, file, and when it was added locally."""
    return [[d.get("title", ""), d.get("publisher", ""), d.get("year") or "", d.get("chunks", 0), d.get("filename", ""),
             f"added locally {d['added']}" if d.get("added") else "published library"] for d in documents]


def upload_report_md(saved: Sequence[str], rejected: Sequence[tuple[str, str]], report) -> str:
    """What an upload did: files added, updated or unchanged, and files skipped with the reason."""
    lines: list[str] = []
    if report is not None:
        for label, items in (("Added", report.added), ("Updated", report.updated)):
            lines += [f"- ✓ {label}: {md_text(name)}" for name in items]
        unchanged = [n for n in saved if n in report.unchanged]
        lines += [f"- ✓ Already in the library, unchanged: {md_text(n)}" for n in unchanged]
        lines += [f"- ✗ Skipped {md_text(s.filename)}: {md_text(s.reason)}" for s in report.skipped]
    lines += [f"- ✗ Not added {md_text(name)}: {md_text(reason)}" for name, reason in rejected]
    if not lines:
        lines = ["- No files were chosen."]
    tail = f"\n\n{md_text(report.summary())}" if report is not None else ""
    return "**Upload results**\n\n" + "\n".join(lines) + tail


# -- briefing notes and workshop packs -------------------------------------------------------------

def _inline(text: str) -> str:
    """Escaped document text with **bold** kept and the unverified flag emphasised."""
    out = esc(text).replace(esc(UNVERIFIED.strip()), '<em class="fa-unverified-text">(unverified)</em>')
    return re.sub(r"\*\*(.{1,400}?)\*\*", r"<strong>\1</strong>", out)


def _linked(text: str, refs: dict[int, bool], prefix: str) -> str:
    """Escaped text whose [n] markers link to reference n in the document's list; unverified ones flagged ⚠."""
    out, pos = [], 0
    for m in MARKER.finditer(text or ""):
        out.append(_inline(text[pos : m.start()]))
        for n in _numbers(m.group(1)):
            if n in refs:
                title = f"Reference {n}" + ("" if refs[n] else " (not verified)")
                out.append(f'<a class="fa-cite" href="#{prefix}-ref{n}" title="{title}" aria-label="{title}">'
                           f'[{n}{"" if refs[n] else " ⚠"}]</a>')
            else:
                out.append(esc(f"[{n}]"))
        pos = m.end()
    out.append(_inline((text or "")[pos:]))
    return "".join(out)


def _blocks_html(text: str, refs: dict[int, bool], prefix: str) -> str:
    """Paragraphs and '- ' bullet lists of a section, escaped and linked."""
    html_parts: list[str] = []
    para: list[str] = []
    bullets: list[str] = []

    def flush() -> None:
        if para:
            html_parts.append(f"<p>{_linked(' '.join(para), refs, prefix)}</p>")
            para.clear()
        if bullets:
            html_parts.append("<ul>" + "".join(f"<li>{_linked(b, refs, prefix)}</li>" for b in bullets) + "</ul>")
            bullets.clear()

    for line in (text or "").splitlines():
        bullet = re.match(r"^\s*[-*•]\s+(.*)", line)
        if bullet:
            if para:
                flush()
            bullets.append(bullet.group(1).strip())
        elif line.strip():
            if bullets:
                flush()
            para.append(line.strip())
        else:
            flush()
    flush()
    return "".join(html_parts)


def _document(obj, prefix: str, body: str) -> str:
    """Title, date, the library's dates note and highlighted warnings above `body`, the numbered references below."""
    o = obj.outline()
    refs = {c.n: c.supported for c in obj.references}
    warnings = ""
    if o.warnings:
        items = "".join(f"<li>{_linked(w, refs, prefix)}</li>" for w in o.warnings)
        warnings = (f'<section class="fa-doc-warnings" role="note" aria-labelledby="{prefix}-warn">'
                    f'<h3 id="{prefix}-warn">⚠ Warnings</h3><ul>{items}</ul></section>')
    entries = "".join(
        f'<li value="{c.n}" id="{prefix}-ref{c.n}" tabindex="-1">{esc(reference_label(c))}. '
        f'<span class="fa-ref-quote">“{esc(c.quote)}”</span>'
        + ("" if c.supported else ' <strong class="fa-flag-inline">⚠ Not verified</strong>') + "</li>"
        for c in obj.references)
    references = (f'<section class="fa-refs" aria-labelledby="{prefix}-refs-h"><h3 id="{prefix}-refs-h">References</h3>'
                  f"<ol>{entries}</ol></section>" if entries else "")
    note = f'<p class="fa-date-note"><strong>Note:</strong> {esc(o.note)}</p>' if o.note else ""
    return (f'<article class="fa-doc" aria-labelledby="{prefix}-title"><h2 id="{prefix}-title">{esc(o.title)}</h2>'
            f'<p class="fa-meta">{esc(o.meta)}</p>{note}{warnings}{body}{references}</article>')


def briefing_html(note) -> str:
    """A BriefingNote as escaped HTML: sections with linked [n] markers, warnings highlighted, numbered references."""
    refs = {c.n: c.supported for c in note.references}
    body = "".join(f'<section><h3>{esc(s.heading)}</h3>{_blocks_html(s.text, refs, "brief")}</section>'
                   for s in note.sections)
    return _document(note, "brief", body)


def workshop_html(pack) -> str:
    """A WorkshopPack as escaped HTML: the case-study card, discussion, quiz (answers folded) and facilitator's note."""
    refs = {c.n: c.supported for c in pack.references}
    card = pack.card
    former = "".join(f"<dt>Former name</dt><dd>{esc(n)} (the same organisation; earlier reports use this name)</dd>"
                     for n in card.formerly)
    facts = former + "".join(f"<dt>{esc(f.label)}</dt><dd>{_linked(f'{f.value} {f.markers}', refs, 'pack')}</dd>"
                             for f in card.facts)
    card_html = (f'<section class="fa-card" aria-labelledby="pack-card-h"><h3 id="pack-card-h">Case-study card: '
                 f"{esc(card.organisation)}</h3>" + (f"<dl>{facts}</dl>" if facts else "")
                 + f'<p><strong>What it did:</strong> {_linked(card.did, refs, "pack")}</p>'
                 f'<p><strong>What it learned:</strong> {_linked(card.learned, refs, "pack")}</p></section>')
    discussion = "".join(f"<li>{_linked(q, refs, 'pack')}</li>" for q in pack.discussion)
    quiz = "".join(f"<li><p>{_linked(q.question, refs, 'pack')}</p><details><summary>Show the answer</summary>"
                   f"<p>{_linked(q.answer, refs, 'pack')}</p></details></li>" for q in pack.quiz)
    related = "".join(f"<li>{_linked(r, refs, 'pack')}</li>" for r in pack.related)
    body = (card_html
            + (f"<section><h3>Other case studies on this theme</h3><ul>{related}</ul></section>" if related else "")
            + (f"<section><h3>Discussion questions</h3><ol>{discussion}</ol></section>" if discussion else "")
            + (f'<section class="fa-quiz"><h3>Quiz</h3><ol>{quiz}</ol></section>' if quiz else "")
            + f"<section><h3>Facilitator’s note</h3>{_blocks_html(pack.facilitator_note, refs, 'pack')}</section>")
    return _document(pack, "pack", body)


def doc_status_html(message: str, error: bool = False) -> str:
    """The status line under a document's button: progress and results politely, failures as an alert."""
    if not message:
        return ""
    if error:
        return f'<p class="fa-doc-error" role="alert"><strong>Could not finish:</strong> {esc(message)}</p>'
    return f'<p class="fa-doc-status" role="status">{esc(message)}</p>'
