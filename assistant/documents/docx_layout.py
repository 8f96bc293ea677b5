"""Word layout for exported documents: A4 page, running header and page-numbered footer, a callout, a card table."""

from __future__ import annotations

from typing import Any

from docx.enum.section import WD_ORIENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor

NHS_BLUE = "005EB8"
CALLOUT_FILL = "E8F1FA"
MUTED = RGBColor(0x42, 0x55, 0x63)  # NHS dark grey: 7.4:1 on white


def a4(doc: Any) -> None:
    """Every section on A4 portrait (210 x 297 mm) with 20 mm margins, not Word's default US Letter."""
    for section in doc.sections:
        section.orientation = WD_ORIENT.PORTRAIT
        section.page_width, section.page_height = Mm(210), Mm(297)
        section.left_margin = section.right_margin = Mm(20)
        section.top_margin = section.bottom_margin = Mm(20)


def _field(paragraph: Any, instruction: str, placeholder: str) -> None:
    """A Word field (PAGE, NUMPAGES) that Word and LibreOffice fill in when the page is laid out."""
    def char(kind: str) -> Any:
        el = OxmlElement("w:fldChar")
        el.set(qn("w:fldCharType"), kind)
        return el

    run = paragraph.add_run()
    run._r.append(char("begin"))
    code = paragraph.add_run()._r
    text = OxmlElement("w:instrText")
    text.set(qn("xml:space"), "preserve")
    text.text = f" {instruction} "
    code.append(text)
    paragraph.add_run()._r.append(char("separate"))
    paragraph.add_run(placeholder)
    paragraph.add_run()._r.append(char("end"))


def header_and_footer(doc: Any, *, title: str, when: str) -> None:
    """The title and date in the header of every page; 'Page n of m' (fields) in the footer."""
    for section in doc.sections:
        head = section.header.paragraphs[0]
        head.text = ""
        run = head.add_run(f"{title} · {when}")
        run.font.size, run.font.color.rgb = Pt(9), MUTED
        foot = section.footer.paragraphs[0]
        foot.text = ""
        foot.alignment = WD_ALIGN_PARAGRAPH.CENTER
        foot.add_run("Page ")
        _field(foot, "PAGE", "1")
        foot.add_run(" of ")
        _field(foot, "NUMPAGES", "1")
        for r in foot.runs:
            r.font.size = Pt(9)


def callout(doc: Any, label: str, text: str) -> Any:
    """A shaded paragraph with a blue rule on its left: the bold label, then the text."""
    p = doc.add_paragraph()
    p.add_run(f"{label} ").bold = True
    p.add_run(text)
    ppr = p._p.get_or_add_pPr()
    borders = OxmlElement("w:pBdr")
    left = OxmlElement("w:left")
    for key, value in (("w:val", "single"), ("w:sz", "24"), ("w:space", "8"), ("w:color", NHS_BLUE)):
        left.set(qn(key), value)
    borders.append(left)
    ppr.append(borders)
    shade = OxmlElement("w:shd")
    for key, value in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", CALLOUT_FILL)):
        shade.set(qn(key), value)
    ppr.append(shade)
    p.paragraph_format.left_indent = Mm(3)
    p.paragraph_format.space_after = Pt(10)
    return p


def card_table(doc: Any, rows: list[tuple[str, str]]) -> Any:
    """A two-column table (label, value) with the labels bold and shaded, for a case-study card."""
    table = doc.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = "", value
        cells[0].paragraphs[0].add_run(label).bold = True
        shade = OxmlElement("w:shd")
        for key, val in (("w:val", "clear"), ("w:color", "auto"), ("w:fill", CALLOUT_FILL)):
            shade.set(qn(key), val)
        cells[0]._tc.get_or_add_tcPr().append(shade)
    for row in table.rows:
        row.cells[0].width, row.cells[1].width = Mm(50), Mm(120)
    doc.add_paragraph()
    return table
