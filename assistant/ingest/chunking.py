"""Token-sized chunks (tiktoken) that respect headings and paragraphs, with sentence overlap and stable ids."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable

from langchain_text_splitters import RecursiveCharacterTextSplitter

from assistant.schema import Block, Chunk, DocumentMeta

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9‘“\"(])")


def chunk_id(doc_id: str, section: str, text: str) -> str:
    """A stable id from the chunk's content: same text under the same heading, same id."""
    return hashlib.sha256(f"{doc_id}\x1f{section}\x1f{text}".encode()).hexdigest()[:24]


class Chunker:
    """Packs cleaned blocks into chunks of at most `size` tokens, never across a heading."""

    def __init__(self, count_tokens: Callable[[str], int], size: int = 180, overlap: int = 40, min_tokens: int = 60) -> None:
        self._count = count_tokens
        self._min = min_tokens
        self._size = size
        self._overlap = min(overlap, size // 2)
        # LangChain's splitter cuts paragraphs that are longer than a chunk, at sentence bounds first.
        self._splitter = RecursiveCharacterTextSplitter(
            chunk_size=size,
            chunk_overlap=self._overlap,
            length_function=count_tokens,
            separators=["\n\n", "\n", ". ", "; ", ", ", " ", ""],
            keep_separator="end",
        )

    def _pieces(self, block: Block) -> list[str]:
        text = block.text.strip()
        if self._count(text) <= self._size:
            return [text]
        return [p.strip() for p in self._splitter.split_text(text) if p.strip()]

    def _tail(self, text: str) -> str:
        """The last whole sentences of `text` that fit in the overlap budget."""
        sentences = _SENTENCE_END.split(text)
        tail: list[str] = []
        for sentence in reversed(sentences):
            if self._count(" ".join([sentence, *tail])) > self._overlap:
                break
            tail.insert(0, sentence)
        return " ".join(tail)

    def chunk(self, meta: DocumentMeta, blocks: Iterable[Block]) -> list[Chunk]:
        """Chunks of one document, in reading order."""
        out: list[Chunk] = []
        seen: set[str] = set()
        buf: list[str] = []
        key: tuple[str, str] | None = None
        page: int | None = None
        end = 0  # the last page the buffered text reaches

        def flush() -> None:
            nonlocal buf, end
            if not buf:
                return
            text = "\n".join(buf).strip()
            section, case = key or ("", "")
            cid = chunk_id(meta.doc_id, section, text)
            if cid not in seen:  # a repeated paragraph under the same heading adds nothing
                seen.add(cid)
                out.append(
                    Chunk(
                        chunk_id=cid, doc_id=meta.doc_id, title=meta.title, year=meta.year, section=section,
                        page=page, text=text, case_study=case, publisher=meta.publisher, position=len(out),
                        added=meta.added, pages=f"{page}-{end}" if page and end > page else "",
                    )
                )
            buf, end = [], 0

        for block in blocks:
            block_key = (block.section, block.case_study)
            for n, piece in enumerate(self._pieces(block)):
                first = buf[0] if buf else ""
                if key and key[0] and buf and not first.startswith(key[0] + ":"):
                    first = f"{key[0]}: {first}"
                joined = f"{block.section}: {piece}" if block.section else piece
                if block_key != key and buf and block.case_study == (key or ("", ""))[1] and \
                        self._count("\n".join(buf)) < self._min and \
                        self._count("\n".join([first, *buf[1:], joined])) <= self._size:
                    # A tiny section (a table row, a one-line box) is too thin to retrieve on its
                    # own: it joins the next one, and both headings stay inline in the text.
                    buf[0] = first
                    key = block_key
                    buf.append(joined)
                    end = max(end, block.last_page or block.page or 0)
                    continue
                if block_key != key:
                    flush()
                    key, page = block_key, block.page
                elif buf and self._count("\n".join([*buf, piece])) > self._size:
                    tail = self._tail(buf[-1])
                    flush()
                    page = block.page if block.page is not None else page
                    # Later pieces of a long block already begin with the splitter's own overlap.
                    if n == 0 and tail and tail != piece and self._count(tail + "\n" + piece) <= self._size:
                        buf.append(tail)
                if not buf and page is None:
                    page = block.page
                buf.append(piece)
                end = max(end, block.last_page or block.page or 0)
        flush()
        return out


def window_parts(chunk: Chunk, size: int = 3, step: int = 2) -> list[tuple[str, ...]]:
    """The pieces of each overlapping sentence window of a chunk: its heading, then `size` sentences."""
    sentences = [s for s in re.split(r"(?<=[.!?])\s+|\n+", chunk.text) if s.strip()] or [chunk.text]
    head = f"{chunk.section} {chunk.case_study}".strip()
    lead = (head,) if head else ()
    return [(*lead, *sentences[i : i + size]) for i in range(0, max(1, len(sentences) - 1), step)]


def sentence_windows(chunk: Chunk, size: int = 3, step: int = 2) -> list[str]:
    """Overlapping windows of sentences of a chunk, each with the chunk's heading, as text."""
    return [" ".join(parts) for parts in window_parts(chunk, size, step)]
