"""Chunks are sized in tiktoken tokens, stay under one heading, overlap, and have content-derived ids."""

from assistant.ingest.chunking import Chunker
from assistant.schema import Block, DocumentMeta
from assistant.ingest.tokens import count_tokens_factory

META = DocumentMeta(doc_id="d", filename="d.txt", title="T", year=2013)


def _chunker(tmp_path, size=60, overlap=15, min_tokens=0):
    return Chunker(count_tokens_factory(tmp_path / "tk"), size, overlap, min_tokens)


def test_chunks_never_exceed_the_token_budget(tmp_path):
    count = count_tokens_factory(tmp_path / "tk")
    blocks = [Block(text=" ".join(f"Federation {i} shares staff." for i in range(40)), section="S")]
    chunks = _chunker(tmp_path).chunk(META, blocks)
    assert len(chunks) > 2
    assert all(count(c.text) <= 60 for c in chunks)


def test_chunks_do_not_cross_a_heading_and_carry_it(tmp_path):
    blocks = [Block("Short paragraph one.", section="A", page=3), Block("Short paragraph two.", section="B", page=4)]
    chunks = _chunker(tmp_path).chunk(META, blocks)
    assert [(c.section, c.page) for c in chunks] == [("A", 3), ("B", 4)]
    assert chunks[0].title == "T" and chunks[0].year == 2013


def test_consecutive_chunks_of_a_section_overlap_by_whole_sentences(tmp_path):
    sentences = [f"Sentence number {i} talks about practice mergers." for i in range(30)]
    blocks = [Block(s, section="S") for s in sentences]
    chunks = _chunker(tmp_path).chunk(META, blocks)
    assert len(chunks) > 2
    for prev, nxt in zip(chunks, chunks[1:]):
        last = prev.text.splitlines()[-1]
        assert nxt.text.startswith(last)


def test_chunk_ids_are_stable_and_change_with_content(tmp_path):
    blocks = [Block("Governance of the federation is by a board.", section="S")]
    a = _chunker(tmp_path).chunk(META, blocks)
    b = _chunker(tmp_path).chunk(META, blocks)
    c = _chunker(tmp_path).chunk(META, [Block("Governance of the federation is by a council.", section="S")])
    assert a[0].chunk_id == b[0].chunk_id != c[0].chunk_id


def test_index_text_carries_title_heading_and_case_study(tmp_path):
    blocks = [Block("It became a company limited by guarantee.", section="Appendix", case_study="Suffolk GP Federation")]
    chunk = _chunker(tmp_path).chunk(META, blocks)[0]
    assert "Case study: Suffolk GP Federation" in chunk.index_text() and "Appendix" in chunk.index_text()


def test_tiny_sections_like_table_rows_join_the_next_with_their_headings_inline(tmp_path):
    blocks = [Block("Partnership of 40 GPs.", section="Legal status"), Block("Executive board.", section="Governance"),
              Block("A long paragraph about scope. " * 3, section="Scope")]
    chunks = _chunker(tmp_path, size=120, min_tokens=30).chunk(META, blocks)
    assert len(chunks) == 1
    assert "Legal status: Partnership of 40 GPs." in chunks[0].text and "Governance: Executive board." in chunks[0].text


def test_a_long_block_split_in_pieces_repeats_no_line_within_a_chunk(tmp_path):
    # Several lines per block, longer than a chunk: the splitter's own overlap must not be doubled by ours.
    lines = [f"Benefit {i}: shared back-office staff." for i in range(30)]
    blocks = [Block("\n".join(lines), section="Benefits"), Block("\n".join(lines[::-1]), section="Risks")]
    chunks = _chunker(tmp_path).chunk(META, blocks)
    assert len(chunks) > 4
    for c in chunks:
        body = c.text.splitlines()
        assert len(body) == len(set(body)), c.text
