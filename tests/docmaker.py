"""Small real PDF and DOCX files for tests, made without extra libraries."""

from __future__ import annotations

from pathlib import Path


def write_pdf(path: Path, pages: list[list[str]]) -> Path:
    """A minimal valid PDF with one text line per entry on each page (Helvetica)."""
    objects: list[bytes] = []
    page_ids = []
    n_pages = len(pages)
    # 1: catalog, 2: pages, 3: font, then (page, content) pairs.
    for i, lines in enumerate(pages):
        page_id, content_id = 4 + 2 * i, 5 + 2 * i
        page_ids.append(page_id)
        ops = ["BT", "/F1 11 Tf", "14 TL", "72 760 Td"]
        for line in lines:
            safe = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"({safe}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        objects.append(
            f"{page_id} 0 obj << /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {content_id} 0 R >> endobj\n".encode()
        )
        objects.append(f"{content_id} 0 obj << /Length {len(stream)} >> stream\n".encode() + stream + b"\nendstream endobj\n")
    kids = " ".join(f"{p} 0 R" for p in page_ids)
    head = [
        b"1 0 obj << /Type /Catalog /Pages 2 0 R >> endobj\n",
        f"2 0 obj << /Type /Pages /Kids [{kids}] /Count {n_pages} >> endobj\n".encode(),
        b"3 0 obj << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> endobj\n",
    ]
    body = b"%PDF-1.4\n"
    offsets = []
    for obj in head + objects:
        offsets.append(len(body))
        body += obj
    xref = len(body)
    body += f"xref\n0 {len(offsets) + 1}\n0000000000 65535 f \n".encode()
    # Objects were written in id order: 1, 2, 3, then 4, 5, ...
    body += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    body += f"trailer << /Size {len(offsets) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    path.write_bytes(body)
    return path


def write_docx(path: Path, heading: str, paragraphs: list[str]) -> Path:
    """A DOCX with one heading and some paragraphs."""
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for para in paragraphs:
        document.add_paragraph(para)
    document.save(str(path))
    return path


def write_docx_bomb(path: Path, unpacked_mb: int) -> Path:
    """A real DOCX whose document.xml holds `unpacked_mb` MB of one repeated paragraph: small on disk, huge unpacked."""
    import zipfile

    base = write_docx(path.with_suffix(".base.docx"), "Governance", ["The board meets monthly."])
    para = b"<w:p><w:r><w:t>The board of the federation meets every month to review its contracts.</w:t></w:r></w:p>"
    with zipfile.ZipFile(base) as src, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as out:
        for info in src.infolist():
            data = src.read(info)
            if info.filename != "word/document.xml":
                out.writestr(info, data)
                continue
            head, tail = data.split(b"<w:body>", 1)
            with out.open("word/document.xml", "w", force_zip64=True) as fh:
                fh.write(head + b"<w:body>")
                block = para * (2**20 // len(para))
                for _ in range(unpacked_mb):
                    fh.write(block)
                fh.write(tail)
    base.unlink()
    return path


def write_pdf_over_pypdf_limit(path: Path) -> Path:
    """A PDF whose cross-reference table declares 99,999,999 entries: pypdf raises its LimitReachedError on it."""
    body = write_pdf(path, [["The federation board meets monthly to review its contracts and governance."]]).read_bytes()
    start = body.rindex(b"xref\n0 ")
    end = body.index(b"\n", start + 5)
    path.write_bytes(body[:start] + b"xref\n0 99999999" + body[end:])
    return path


_ASCII = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-", "…": "..."})
FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> str:
    """The text of a fixture in tests/fixtures (see SOURCES.md there for where it comes from)."""
    return (FIXTURES / name).read_text(encoding="utf-8")


def write_paged_pdf(path: Path, text: str, *, header=None, footer=None, page_format=(105.0, 148.0), title: str = "",
                    plain_first_page: bool = True) -> Path:
    """A PDF written by fpdf2 from marked-up text ('<<<page>>>' forces a page break, '<<<fill>>>' leaves one line
    of the page, '## ' starts a heading, a blank line is a gap, every other line a paragraph that wraps and runs
    over page breaks), with a running
    `header(page)` and `footer(page)` on every page but the first ('{nb}' is the number of pages)."""
    from fpdf import FPDF

    class Doc(FPDF):
        def header(self) -> None:
            if header and not (plain_first_page and self.page_no() == 1):
                self.set_font("helvetica", size=7)
                self.cell(0, 4, header(self.page_no()).translate(_ASCII), new_x="LMARGIN", new_y="NEXT")
                self.ln(3)

        def footer(self) -> None:
            if footer and not (plain_first_page and self.page_no() == 1):
                self.set_y(-12)
                self.set_font("helvetica", size=7)
                self.cell(0, 4, footer(self.page_no()).translate(_ASCII), align="C")

    pdf = Doc(format=page_format)
    pdf.set_auto_page_break(True, margin=16)
    if title:
        pdf.set_title(title)
    for page in text.split("<<<page>>>"):
        pdf.add_page()
        for line in page.strip("\n").split("\n"):
            if line == "<<<fill>>>":
                while pdf.get_y() < pdf.h - 16 - 7:  # room for one 6 mm line above the 16 mm bottom margin
                    pdf.ln(1)
            elif line.startswith("## "):
                pdf.set_font("helvetica", style="B", size=12)
                pdf.multi_cell(0, 6, line[3:].translate(_ASCII), new_x="LMARGIN", new_y="NEXT")
                pdf.ln(1)
            elif not line.strip():
                pdf.ln(3)
            else:
                pdf.set_font("helvetica", size=10)
                pdf.multi_cell(0, 5, line.translate(_ASCII), new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path
