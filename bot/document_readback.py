"""The written 申报书 read back: every piece of applicant text present, in order, and every photo
embedded. docxtpl fails silently (a control character or a broken tag in a restyled template can
swallow text), so no file reaches anyone before this check."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lxml import etree  # type: ignore[import-untyped]  # lxml ships no stubs

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def expected_lines(context: dict[str, Any]) -> list[tuple[str, str]]:
    """Every piece of applicant text with where it belongs (申报表 label or question id), in order."""
    lines: list[tuple[str, str]] = list(context["form"].values())
    for category in context["categories"]:
        for item in category.items:
            for question in item.questions:
                lines.extend((question.id, line) for line in question.lines)
    return lines


def paragraph_texts(path: Path) -> list[str]:
    """The text of each paragraph of the document body, in order (table cells included)."""
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    texts = []
    for paragraph in root.iter(f"{_W}p"):
        parts = []
        for node in paragraph.iter(f"{_W}t", f"{_W}tab", f"{_W}br", f"{_W}cr"):
            if node.tag == f"{_W}t":
                parts.append(node.text or "")
            elif node.tag == f"{_W}tab" and node.getparent().tag == f"{_W}r":  # not a tab stop definition
                parts.append("\t")
            elif node.tag != f"{_W}tab":
                parts.append("\n")
        texts.append("".join(parts))
    return texts


def count_images(path: Path) -> int:
    with zipfile.ZipFile(path) as archive:
        root = etree.fromstring(archive.read("word/document.xml"))
    return sum(1 for _ in root.iter(f"{_W}drawing"))


def readback_problem(path: Path, lines: Iterable[tuple[str, str]], images: int) -> str | None:
    """What is wrong with the written file, or None when every line appears, in order, and every photo
    is embedded."""
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        return f"生成的文件里有重复的部件 {'、'.join(duplicates)}，Word 会报告文件损坏"
    texts = iter(paragraph_texts(path))
    counts: dict[str, int] = {}
    for where, line in lines:
        counts[where] = counts.get(where, 0) + 1
        if not any(line in text for text in texts):
            # Where and which paragraph, never the text itself: answers must not reach the logs.
            return f"生成的申报书缺少「{where}」的第 {counts[where]} 段（或顺序不对）：请检查模板里显示它的标签"
    found = count_images(path)
    if found != images:
        return f"生成的申报书有 {found} 张图片，应为 {images} 张"
    return None
