"""Build templates/application.docx.j2, the Word template of the 申报书, or list a template's contents.

    .venv/bin/python scripts/build_template.py             # rebuild the template from this script
    .venv/bin/python scripts/build_template.py --list      # show each paragraph: style and text, tags included
    .venv/bin/python scripts/build_template.py --list FILE # the same for a template restyled in Word or WPS

The template is an ordinary .docx whose text holds docxtpl (Jinja) tags. This script is its
reviewable source: the look (A4 with GB/T 9704 margins, 黑体 headings, 仿宋 body, page numbers,
table of contents) lives in the styles set here, and East Asian fonts are named through
`w:eastAsia` so Word and WPS use the intended Chinese face. A coordinator may instead open the
template in Word, restyle it and save it back; `--list` then shows what changed.

Tags are kept simple so that a save in Word cannot break them: one `{{ name }}` per run of text
and `{%p … %}` / `{%tr … %}` alone in their own paragraph or table row.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from docx import Document
from docx.enum.section import WD_SECTION
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_ROW_HEIGHT_RULE, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING, WD_TAB_ALIGNMENT, WD_TAB_LEADER
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt, RGBColor
from docx.table import Table
from docx.text.paragraph import Paragraph

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "templates" / "application.docx.j2"

LATIN = "Times New Roman"
# The usual faces of Chinese official documents, as Word and WPS name them on Chinese Windows.
HEI, SONG, FANGSONG, KAI = "黑体", "宋体", "仿宋", "楷体"


# Child order the Office Open XML schema requires (Word repairs a file that breaks it).
PPR_ORDER = ("pStyle keepNext keepLines pageBreakBefore framePr widowControl numPr suppressLineNumbers pBdr shd "
             "tabs suppressAutoHyphens kinsoku wordWrap overflowPunct topLinePunct autoSpaceDE autoSpaceDN bidi "
             "adjustRightInd snapToGrid spacing ind contextualSpacing mirrorIndents suppressOverlap jc "
             "textDirection textAlignment textboxTightWrap outlineLvl divId cnfStyle rPr sectPr pPrChange").split()
TBLPR_ORDER = ("tblStyle tblpPr tblOverlap bidiVisual tblStyleRowBandSize tblStyleColBandSize tblW jc "
               "tblCellSpacing tblInd tblBorders shd tblLayout tblCellMar tblLook").split()
TCPR_ORDER = ("cnfStyle tcW gridSpan hMerge vMerge tcBorders shd noWrap tcMar textDirection tcFitText vAlign "
              "hideMark").split()
SETTINGS_ORDER = ("updateFields hdrShapeDefaults footnotePr endnotePr compat docVars rsids mathPr attachedSchema "
                  "themeFontLang clrSchemeMapping doNotIncludeSubdocsInStats doNotAutoCompressPictures forceUpgrade "
                  "captions readModeInkLockDown smartTagType schemaLibrary shapeDefaults doNotEmbedSmartTags "
                  "decimalSymbol listSeparator").split()


def place(parent, element, order: list[str]) -> None:
    """Put `element` into `parent` where the schema wants it, replacing one of the same name."""
    name = element.tag.split("}")[1]
    for old in parent.findall(qn(f"w:{name}")):
        parent.remove(old)
    later = order[order.index(name) + 1:]
    for child in parent:
        if child.tag.split("}")[-1] in later:
            child.addprevious(element)
            return
    parent.append(element)


def set_fonts(element, east_asia: str, latin: str = LATIN) -> None:
    """Name the fonts of a style's or run's rPr, dropping theme fonts, which would win over them."""
    rpr = element.get_or_add_rPr()
    fonts = rpr.find(qn("w:rFonts"))
    if fonts is None:
        fonts = OxmlElement("w:rFonts")
        rpr.insert(0, fonts)
    for attribute in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attribute), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:cs"), latin)
    fonts.set(qn("w:hint"), "eastAsia")


def paragraph_style(document, name: str, *, base: str = "Normal", east_asia: str = FANGSONG, size: float = 12,
                    bold: bool = False, align=None, before: float = 0, after: float = 0, line: float | None = 22,
                    first_line_chars: int = 0, keep_next: bool = False, page_break: bool = False,
                    outline: int | None = None, color: RGBColor | None = None):
    styles = document.styles
    style = styles[name] if name in [s.name for s in styles] else styles.add_style(name, WD_STYLE_TYPE.PARAGRAPH)
    style.base_style = styles[base] if name != base else None
    style.hidden = False
    style.quick_style = True
    font = style.font
    font.size = Pt(size)
    font.bold = bold
    font.italic = False
    font.color.rgb = color or RGBColor(0, 0, 0)
    set_fonts(style.element, east_asia)
    fmt = style.paragraph_format
    fmt.alignment = align
    fmt.space_before, fmt.space_after = Pt(before), Pt(after)
    if line is not None:
        fmt.line_spacing_rule = WD_LINE_SPACING.EXACTLY
        fmt.line_spacing = Pt(line)
    else:
        # Stated, not inherited: an exact height from Normal would clip a photo or a large title.
        fmt.line_spacing_rule = WD_LINE_SPACING.SINGLE
    fmt.keep_with_next = keep_next
    fmt.page_break_before = page_break
    fmt.first_line_indent = None
    ppr = style.element.get_or_add_pPr()
    for border in ppr.findall(qn("w:pBdr")):  # python-docx's Title is underlined in theme blue
        ppr.remove(border)
    if first_line_chars:
        ind = OxmlElement("w:ind")
        ind.set(qn("w:firstLineChars"), str(first_line_chars * 100))
        # Word and WPS use the character count; LibreOffice only the length (size × characters).
        ind.set(qn("w:firstLine"), str(int(size * 20 * first_line_chars)))
        place(ppr, ind, PPR_ORDER)
    if outline is not None:
        level = OxmlElement("w:outlineLvl")
        level.set(qn("w:val"), str(outline))
        place(ppr, level, PPR_ORDER)
    return style


def define_styles(document) -> None:
    # Defaults for every run: Latin text in Times New Roman, Chinese in 仿宋, proofed as zh-CN.
    defaults = document.styles.element.find(qn("w:docDefaults"))
    rpr = defaults.find(qn("w:rPrDefault")).find(qn("w:rPr"))
    fonts = rpr.find(qn("w:rFonts"))
    for attribute in list(fonts.attrib):
        del fonts.attrib[attribute]
    fonts.set(qn("w:ascii"), LATIN)
    fonts.set(qn("w:hAnsi"), LATIN)
    fonts.set(qn("w:eastAsia"), FANGSONG)
    fonts.set(qn("w:cs"), LATIN)
    lang = rpr.find(qn("w:lang"))
    if lang is None:
        lang = OxmlElement("w:lang")
        rpr.append(lang)
    lang.set(qn("w:val"), "en-US")
    lang.set(qn("w:eastAsia"), "zh-CN")
    lang.set(qn("w:bidi"), "ar-SA")

    center, justify = WD_ALIGN_PARAGRAPH.CENTER, WD_ALIGN_PARAGRAPH.JUSTIFY
    paragraph_style(document, "Normal", size=12, align=justify)
    paragraph_style(document, "Title", east_asia=HEI, size=26, align=center, before=0, after=0, line=None)
    paragraph_style(document, "Heading 1", east_asia=HEI, size=16, before=0, after=18, line=None,
                    keep_next=True, page_break=True, outline=0)
    paragraph_style(document, "Heading 2", east_asia=HEI, size=15, bold=True, before=18, after=6, line=None,
                    keep_next=True, outline=1)
    paragraph_style(document, "Heading 3", east_asia=KAI, size=14, bold=True, before=12, after=6, line=None,
                    keep_next=True, outline=2)
    paragraph_style(document, "Heading 4", east_asia=FANGSONG, size=12, bold=True, before=9, after=3,
                    keep_next=True, outline=3)
    paragraph_style(document, "答复正文", size=12, align=justify, first_line_chars=2)
    paragraph_style(document, "未填写", size=12, first_line_chars=2, color=RGBColor(0xC0, 0, 0))
    paragraph_style(document, "材料引用", east_asia=KAI, size=10.5, align=WD_ALIGN_PARAGRAPH.LEFT,
                    first_line_chars=2, before=3)
    paragraph_style(document, "草稿标记", east_asia=HEI, size=12, align=center, color=RGBColor(0xC0, 0, 0))
    paragraph_style(document, "封面信息", east_asia=FANGSONG, size=16, line=36)
    paragraph_style(document, "表格文字", east_asia=FANGSONG, size=12, line=20)
    # The 申报表's grid (bot/form_grid.py): labels in 黑体, values in 仿宋, both 五号 (10.5 pt).
    paragraph_style(document, "申报表标签", east_asia=HEI, size=10.5, align=center, line=None)
    paragraph_style(document, "申报表内容", east_asia=FANGSONG, size=10.5, align=WD_ALIGN_PARAGRAPH.LEFT, line=15,
                    before=1.5, after=1.5)  # a wrapped value breathes, and keeps off the borders
    paragraph_style(document, "申报表照片", east_asia=KAI, size=10.5, align=center, line=None)
    paragraph_style(document, "Caption", east_asia=KAI, size=10.5, align=center, after=12)
    paragraph_style(document, "图片", align=center, line=None, before=6)
    # Each 附件 opens with 附件N and its title; the variant starts a page (the code decides which).
    paragraph_style(document, "附件标题", east_asia=HEI, size=14, align=WD_ALIGN_PARAGRAPH.LEFT, before=18,
                    after=3, line=None, keep_next=True)
    paragraph_style(document, "附件标题（另起一页）", base="附件标题", east_asia=HEI, size=14,
                    align=WD_ALIGN_PARAGRAPH.LEFT, after=3, line=None, keep_next=True, page_break=True)
    paragraph_style(document, "附件来源", east_asia=KAI, size=10.5, align=WD_ALIGN_PARAGRAPH.LEFT, line=None,
                    keep_next=True)
    paragraph_style(document, "文件名", east_asia=FANGSONG, size=10.5, align=WD_ALIGN_PARAGRAPH.LEFT, line=18)
    paragraph_style(document, "字数标题", east_asia=HEI, size=12, align=center, before=24, after=6, line=None,
                    keep_next=True)
    paragraph_style(document, "封面落款", east_asia=FANGSONG, size=16, align=center, line=30)
    # Signature lines start right of the middle, so the blank after "（签字）：" stays room to sign.
    sign = paragraph_style(document, "签署", size=14, line=32, align=WD_ALIGN_PARAGRAPH.LEFT)
    sign.paragraph_format.left_indent = Mm(72)
    paragraph_style(document, "TOC Heading", east_asia=HEI, size=16, align=center, after=18, line=None,
                    page_break=True)
    for level, indent in ((1, 0), (2, 2), (3, 4)):
        style = paragraph_style(document, f"toc {level}", east_asia=HEI if level == 1 else FANGSONG,
                                size=12, line=18)
        style.paragraph_format.left_indent = Pt(12 * indent / 2)
        style.element.set(qn("w:styleId"), f"TOC{level}")
        tabs = style.paragraph_format.tab_stops
        tabs.add_tab_stop(Mm(156), WD_TAB_ALIGNMENT.RIGHT, WD_TAB_LEADER.DOTS)
    paragraph_style(document, "Footer", east_asia=SONG, size=14, align=center, line=None)
    # GB/T 9704: odd page numbers on the right, even ones on the left, one character in from the edge.
    odd = paragraph_style(document, "页码（单页）", base="Footer", east_asia=SONG, size=14,
                          align=WD_ALIGN_PARAGRAPH.RIGHT, line=None)
    odd.paragraph_format.right_indent = Pt(14)
    even = paragraph_style(document, "页码（双页）", base="Footer", east_asia=SONG, size=14,
                           align=WD_ALIGN_PARAGRAPH.LEFT, line=None)
    even.paragraph_format.left_indent = Pt(14)
    paragraph_style(document, "Header", east_asia=HEI, size=10.5, align=WD_ALIGN_PARAGRAPH.RIGHT, line=None)


def add(document_or_cell, text: str = "", style: str = "Normal") -> Paragraph:
    return document_or_cell.add_paragraph(text, style=style)


def add_field(paragraph: Paragraph, instruction: str, placeholder: str = "") -> None:
    """A complex field (PAGE, TOC…) whose result is filled in by Word, WPS or LibreOffice."""
    def run_with(child) -> None:
        run = paragraph.add_run()
        run._r.append(child)

    begin = OxmlElement("w:fldChar")
    begin.set(qn("w:fldCharType"), "begin")
    run_with(begin)
    instr = OxmlElement("w:instrText")
    instr.set(qn("xml:space"), "preserve")
    instr.text = f" {instruction} "
    run_with(instr)
    separate = OxmlElement("w:fldChar")
    separate.set(qn("w:fldCharType"), "separate")
    run_with(separate)
    if placeholder:
        paragraph.add_run(placeholder)


def end_field(paragraph: Paragraph) -> None:
    end = OxmlElement("w:fldChar")
    end.set(qn("w:fldCharType"), "end")
    paragraph.add_run()._r.append(end)


def cell_border(cell, **edges: str) -> None:
    tcpr = cell._tc.get_or_add_tcPr()
    borders = OxmlElement("w:tcBorders")
    for edge, value in edges.items():
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        element.set(qn("w:sz"), "6")
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)
    place(tcpr, borders, TCPR_ORDER)


def table_borders(table: Table, value: str) -> None:
    tblpr = table._tbl.tblPr
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        element = OxmlElement(f"w:{edge}")
        element.set(qn("w:val"), value)
        element.set(qn("w:sz"), "4")
        element.set(qn("w:space"), "0")
        element.set(qn("w:color"), "000000")
        borders.append(element)
    place(tblpr, borders, TBLPR_ORDER)


def column_widths(table: Table, *widths_mm: float) -> None:
    # Word reads the cell widths, LibreOffice the grid: set both.
    table.autofit = False
    for column, width in zip(table.columns, widths_mm, strict=True):
        column.width = Mm(width)


def set_cell(cell, text: str, style: str = "表格文字", width_mm: float | None = None) -> Paragraph:
    paragraph = cell.paragraphs[0]
    paragraph.style = style
    if text:
        paragraph.add_run(text)
    if width_mm is not None:
        cell.width = Mm(width_mm)
    return paragraph


def cover(document) -> None:
    """Title, the lines of the criteria file's cover (申报人, 工作单位, 推荐单位…) and, at the top right,
    the office's 编号 box; the issuer and the year sit in the cover's own footer, at the foot of the page."""
    add(document, "{%p if number_label %}")
    box = document.add_table(rows=1, cols=2)
    box.alignment = WD_TABLE_ALIGNMENT.RIGHT
    table_borders(box, "nil")
    column_widths(box, 16, 40)
    set_cell(box.rows[0].cells[0], "{{ number_label }}", "表格文字", 16).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    set_cell(box.rows[0].cells[1], "", "表格文字", 40)
    cell_border(box.rows[0].cells[1], top="single", left="single", bottom="single", right="single")
    box.rows[0].height = Mm(9)
    box.rows[0].height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    add(document, "{%p endif %}")
    add(document, "{{ draft_mark }}", "草稿标记")
    for _ in range(3):
        add(document)
    add(document, "{{ title }}", "Title")
    for _ in range(6):
        add(document)
    table = document.add_table(rows=3, cols=2)
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    table_borders(table, "nil")
    column_widths(table, 38, 84)
    opening, body, closing = table.rows
    set_cell(opening.cells[0], "{%tr for line in cover %}", "封面信息", 38)
    set_cell(opening.cells[1], "", "封面信息", 84)
    set_cell(body.cells[0], "{{ line.label }}：", "封面信息", 38).alignment = WD_ALIGN_PARAGRAPH.DISTRIBUTE
    set_cell(body.cells[1], "{{ line.value }}", "封面信息", 84).alignment = WD_ALIGN_PARAGRAPH.CENTER
    cell_border(body.cells[1], bottom="single")
    set_cell(closing.cells[0], "{%tr endfor %}", "封面信息", 38)
    set_cell(closing.cells[1], "", "封面信息", 84)


def contents(document) -> None:
    add(document, "目　　录", "TOC Heading")
    first = add(document, "", "toc 1")
    add_field(first, 'TOC \\o "1-3" \\h \\z \\u', "一、申报表")
    add(document, "二、自评报告", "toc 1")
    add(document, "{%p for category in categories %}")
    add(document, "{{ category.id }}　{{ category.title }}", "toc 2")
    add(document, "{%p for item in category.items %}")
    add(document, "{{ item.id }}　{{ item.title }}", "toc 3")
    add(document, "{%p endfor %}")
    add(document, "{%p endfor %}")
    add(document, "三、证明材料清单", "toc 1")
    add(document, "四、申报人承诺", "toc 1")
    add(document, "{%p for opinion in opinions %}")
    add(document, "{{ opinion.heading }}", "toc 1")
    add(document, "{%p endfor %}")
    end_field(add(document, "", "toc 1"))


def application_form(document) -> None:
    """The 申报表: a grid the code builds from the criteria file's `form` (label and value cells, the
    photo box, the 经历/荣誉 sub-tables, the 简介 box) and puts in place of `{{p form }}`; its cells use
    the styles 申报表标签, 申报表内容 and 申报表照片 defined here."""
    add(document, "一、申报表", "Heading 1")
    add(document, "{{p form }}")


def report(document) -> None:
    add(document, "二、自评报告", "Heading 1")
    add(document, "{%p for category in categories %}")
    add(document, "{{ category.id }}　{{ category.title }}", "Heading 2")
    add(document, "{%p for item in category.items %}")
    add(document, "{{ item.id }}　{{ item.title }}", "Heading 3")
    add(document, "{%p for question in item.questions %}")
    add(document, "{{ question.id }}　{{ question.text }}", "Heading 4")
    add(document, "{%p for line in question.lines %}")
    add(document, "{{ line }}", "答复正文")
    add(document, "{%p endfor %}")
    add(document, "{%p if not question.lines %}")
    add(document, "（未填写）", "未填写")
    add(document, "{%p endif %}")
    add(document, "{%p if question.attachments %}")
    add(document, "证明材料：{{ question.attachments }}", "材料引用")
    add(document, "{%p endif %}")
    add(document, "{%p endfor %}")
    add(document, "{%p endfor %}")
    add(document, "{%p endfor %}")
    # The report's length per category and in total, against the criteria file's budget.
    add(document, "自评报告字数统计", "字数标题")
    table = document.add_table(rows=5, cols=2)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    column_widths(table, 80, 66)
    header, opening, body, closing, total = table.rows
    for cell, text, width in zip(header.cells, ("类目", "字数"), (80, 66), strict=True):
        set_cell(cell, text, width_mm=width).alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.paragraphs[0].runs[0].bold = True
    set_cell(opening.cells[0], "{%tr for row in counts %}", width_mm=80)
    set_cell(opening.cells[1], "", width_mm=66)
    set_cell(body.cells[0], "{{ row.label }}", width_mm=80)
    set_cell(body.cells[1], "{{ row.chars }}", width_mm=66).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    set_cell(closing.cells[0], "{%tr endfor %}", width_mm=80)
    set_cell(closing.cells[1], "", width_mm=66)
    set_cell(total.cells[0], "{{ count_total.label }}", width_mm=80).runs[0].bold = True
    set_cell(total.cells[1], "{{ count_total.chars }}", width_mm=66).alignment = WD_ALIGN_PARAGRAPH.RIGHT
    for row in table.rows:
        row.height = Mm(8)
        row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST


def evidence(document) -> None:
    add(document, "三、证明材料清单", "Heading 1")
    add(document, "{%p if attachments %}")
    table = document.add_table(rows=4, cols=4)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    widths = (14, 22, 68, 52)
    column_widths(table, *widths)
    header, opening, body, closing = table.rows
    for cell, text, width in zip(header.cells, ("序号", "对应条款", "材料名称", "文件"), widths, strict=True):
        set_cell(cell, text, width_mm=width).alignment = WD_ALIGN_PARAGRAPH.CENTER
        cell.paragraphs[0].runs[0].bold = True
    header.repeat_table_header = True
    for cell, width in zip(opening.cells, widths, strict=True):
        set_cell(cell, "", width_mm=width)
    opening.cells[0].paragraphs[0].add_run("{%tr for attachment in attachments %}")
    for cell, text, width in zip(body.cells, ("{{ attachment.number }}", "{{ attachment.question_id }}",
                                              "{{ attachment.caption }}", "{{ attachment.file_label }}"),
                                 widths, strict=True):
        set_cell(cell, text, width_mm=width)
    body.cells[3].paragraphs[0].style = "文件名"
    body.cells[0].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    body.cells[1].paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER
    for cell, width in zip(closing.cells, widths, strict=True):
        set_cell(cell, "", width_mm=width)
    closing.cells[0].paragraphs[0].add_run("{%tr endfor %}")
    # 附件1…N in the order of the list: 附件N and its title, where it belongs, then the photo. The code
    # decides which start a page (a portrait certificate alone, two landscape photos to a page).
    add(document, "{%p for attachment in attachments %}")
    add(document, "{%p if attachment.new_page %}")
    add(document, "附件{{ attachment.number }}　{{ attachment.title }}", "附件标题（另起一页）")
    add(document, "{%p else %}")
    add(document, "附件{{ attachment.number }}　{{ attachment.title }}", "附件标题")
    add(document, "{%p endif %}")
    add(document, "{{ attachment.source }}", "附件来源")
    add(document, "{%p if attachment.image %}")
    add(document, "{{ attachment.image }}", "图片")
    add(document, "{%p else %}")
    add(document, "（此文件无法嵌入申报书，原件随申报材料另附。）", "答复正文")
    add(document, "{%p endif %}")
    add(document, "{%p endfor %}")
    add(document, "{%p endif %}")
    add(document, "{%p if not attachments %}")
    add(document, "（未提交证明材料）", "答复正文")
    add(document, "{%p endif %}")


def pledge(document) -> None:
    add(document, "四、申报人承诺", "Heading 1")
    add(document, "本人{{ applicant }}自愿申报{{ award }}，郑重承诺：", "答复正文")
    for promise in (
        "一、本申报书所填内容及所附证明材料真实、准确、完整，不存在虚假、夸大或侵犯他人知识产权的情况；",
        "二、近三年本人及所负责工作范围内未发生重大质量、安全、环境事故，无违法违纪行为；",
        "三、如有不实，本人愿意承担相应责任，并接受撤销申报资格、收回奖励等处理。",
    ):
        add(document, promise, "答复正文")
    for _ in range(3):
        add(document)
    add(document, "申报人（签字）：　　　　　　　　　　", "签署")
    add(document, "　　　　年　　月　　日", "签署")


def opinions(document) -> None:
    """One page per opinion of the criteria file (所在单位, 推荐单位, 评审委员会): a box to sign and stamp."""
    add(document, "{%p for opinion in opinions %}")
    add(document, "{{ opinion.heading }}", "Heading 1")
    table = document.add_table(rows=1, cols=1)
    table.style = "Table Grid"
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    column_widths(table, 156)
    row = table.rows[0]
    row.height = Mm(150)
    row.height_rule = WD_ROW_HEIGHT_RULE.AT_LEAST
    cell = row.cells[0]
    set_cell(cell, "{%p if opinion.note %}", "材料引用", 156)
    add(cell, "{{ opinion.note }}", "材料引用")
    add(cell, "{%p endif %}", "材料引用")
    for _ in range(12):
        add(cell, "", "表格文字")
    add(cell, "{%p if opinion.signature %}", "签署")
    add(cell, "{{ opinion.signature }}：　　　　　　　　　　", "签署")
    add(cell, "{%p endif %}", "签署")
    add(cell, "{%p if opinion.seal %}", "签署")
    add(cell, "{{ opinion.seal }}　　　　　　　　　　", "签署")
    add(cell, "{%p endif %}", "签署")
    add(cell, "　　　　年　　月　　日", "签署")
    add(document, "{%p endfor %}")


def page_setup(document) -> None:
    section = document.sections[0]
    section.start_type = WD_SECTION.NEW_PAGE
    section.page_width, section.page_height = Mm(210), Mm(297)
    # Margins of Chinese official documents (GB/T 9704): 37 mm top, 35 bottom, 28 left, 26 right.
    section.top_margin, section.bottom_margin = Mm(37), Mm(35)
    section.left_margin, section.right_margin = Mm(28), Mm(26)
    section.header_distance, section.footer_distance = Mm(15), Mm(20)


def draft_header(section) -> None:
    # Odd and even pages have their own headers (see settings): the draft mark is on both.
    for part in (section.header, section.even_page_header):
        part.is_linked_to_previous = False
        header = part.paragraphs[0]
        header.style = "Header"
        header.add_run("{{ draft_mark }}")


def front_matter_pages(section) -> None:
    """Cover and table of contents: no page number; the cover's footer holds the issuer and the year."""
    section.different_first_page_header_footer = True
    draft_header(section)
    section.footer.is_linked_to_previous = False
    section.footer.paragraphs[0].style = "Footer"
    section.even_page_footer.is_linked_to_previous = False
    section.even_page_footer.paragraphs[0].style = "Footer"
    foot = section.first_page_footer
    foot.is_linked_to_previous = False
    foot.paragraphs[0].style = "封面落款"
    foot.paragraphs[0].add_run("{{ issuer }}")
    foot.add_paragraph("{{ year }}", style="封面落款")


def body_pages(section) -> None:
    """From 一、申报表 on: page numbers "— 1 —", counted from the first page of the body."""
    section.different_first_page_header_footer = False
    draft_header(section)
    for part, style in ((section.footer, "页码（单页）"), (section.even_page_footer, "页码（双页）")):
        part.is_linked_to_previous = False
        footer = part.paragraphs[0]
        footer.style = style
        footer.add_run("— ")
        add_field(footer, "PAGE", "1")
        end_field(footer)
        footer.add_run(" —")
    numbering = OxmlElement("w:pgNumType")
    numbering.set(qn("w:start"), "1")
    sectpr = section._sectPr
    later = ("pgNumType cols formProt vAlign noEndnote titlePg textDirection bidi rtlGutter docGrid "
             "printerSettings sectPrChange").split()
    place_after_known(sectpr, numbering, later)


def place_after_known(parent, element, later: list[str]) -> None:
    for child in parent:
        if child.tag.split("}")[-1] in later[1:]:
            child.addprevious(element)
            return
    parent.append(element)


def settings(document) -> None:
    # Ask Word to refresh fields on opening, so the table of contents gets its page numbers.
    update = OxmlElement("w:updateFields")
    update.set(qn("w:val"), "true")
    place(document.settings.element, update, SETTINGS_ORDER)
    # Page numbers as GB/T 9704 places them: odd pages right, even pages left.
    document.settings.odd_and_even_pages_header_footer = True


def drop_styles_with_effects(document) -> None:
    # python-docx's base file carries Word 2010's stylesWithEffects.xml, a copy of the styles that
    # would now disagree with ours; Word treats such a mismatch as damage. Word rebuilds it on save.
    part = document.part
    for r_id, rel in list(part.rels.items()):
        if rel.reltype.endswith("/stylesWithEffects"):
            part.drop_rel(r_id)
            if r_id in part.rels:
                del part.rels[r_id]


def drop_thumbnail(document) -> None:
    # The base file's thumbnail shows a blank page; a file manager would show it for every 申报书.
    package = document.part.package
    for r_id, rel in list(package.rels.items()):
        if rel.reltype.endswith("/thumbnail"):
            del package.rels[r_id]


def build(path: Path) -> None:
    document = Document()
    drop_styles_with_effects(document)
    drop_thumbnail(document)
    define_styles(document)
    page_setup(document)
    settings(document)
    document.core_properties.title = "质量奖申报书模板"
    document.core_properties.author = ""
    document.core_properties.comments = "由 scripts/build_template.py 生成；标签说明见 README。"
    body = document.element.body
    # python-docx starts from a document with one empty paragraph; the cover comes first.
    for paragraph in list(document.paragraphs):
        body.remove(paragraph._p)
    cover(document)
    contents(document)
    document.add_section(WD_SECTION.NEW_PAGE)
    front_matter_pages(document.sections[0])
    body_pages(document.sections[1])
    application_form(document)
    report(document)
    evidence(document)
    pledge(document)
    opinions(document)
    path.parent.mkdir(parents=True, exist_ok=True)
    document.save(str(path))


def listing(path: Path) -> list[str]:
    """One line per paragraph (tables cell by cell): the style, then the text with its tags."""
    document = Document(str(path))
    lines: list[str] = []

    def walk(container, indent: str = "") -> None:
        for child in container.iter_inner_content():
            if isinstance(child, Paragraph):
                lines.append(f"{indent}[{child.style.name}] {child.text}")
            else:
                for r, row in enumerate(child.rows):
                    for c, cell in enumerate(row.cells):
                        lines.append(f"{indent}表格 行{r + 1} 列{c + 1}:")
                        walk(cell, indent + "    ")

    walk(document)
    for number, section in enumerate(document.sections, start=1):
        parts = [("页眉", section.header), ("页脚", section.footer)]
        if document.settings.odd_and_even_pages_header_footer:
            parts += [("偶数页页眉", section.even_page_header), ("偶数页页脚", section.even_page_footer)]
        if section.different_first_page_header_footer:
            parts += [("首页页眉", section.first_page_header), ("首页页脚", section.first_page_footer)]
        for label, part in parts:
            if not part.is_linked_to_previous:
                lines.extend(f"第 {number} 节{label}: {p.text}" for p in part.paragraphs)
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--list", nargs="?", const=TEMPLATE, type=Path, metavar="FILE",
                        help="list a template's paragraphs instead of building it")
    args = parser.parse_args()
    if args.list:
        print("\n".join(listing(args.list)))
        return 0
    build(TEMPLATE)
    print(f"wrote {TEMPLATE.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
