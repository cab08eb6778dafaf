"""A printed table: a title, a header row and sections of rows laid out on A4 pages as a PDF (matplotlib).

Generic: it knows cells made of text parts (body, small, bold, muted), column widths and pages, nothing about
what the table says. Text is wrapped by width (CJK characters count double), rows never split across pages,
the header row is repeated on every page, and the footer lines follow the last row. The CJK font is the one
the printed maps use (`geo.mapprint.cjk_font`, registered once per process).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.backends.backend_pdf import PdfPages
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D

from .mapprint import cjk_font

Style = Literal["body", "small", "bold", "muted", "heading"]
A4 = (595.28, 841.89)  # points, portrait
MARGIN = 34.0
TITLE_SIZE = 14.0
BOLD = ("title", "bold", "heading")
SIZES: dict[str, float] = {"body": 7.6, "small": 6.3, "bold": 7.6, "muted": 6.0, "heading": 9.0}
COLOURS: dict[str, str] = {"body": "#1a1a1a", "small": "#444444", "bold": "#000000", "muted": "#666666"}
LABEL_SHARE = 0.24  # of the text width, for the first (label) column
PAD = 2.4  # points between a cell's text and its column edge
LINE = 1.22  # line height, in font sizes
NO_LINE_START = frozenset("、，。；：！？）》」』”’,.;:!?)")


@dataclass(frozen=True)
class Part:
    """A run of text in one style; a cell is a list of parts, each starting on a new line unless `run_on` asks
    to continue the line before when it fits there."""

    text: str
    style: Style = "body"
    run_on: bool = False


Cell = Sequence[Part]


@dataclass
class Section:
    """A titled group of rows; each row is the label cell followed by one cell per column."""

    title: str
    rows: Sequence[Sequence[Cell]] = field(default_factory=list)


@dataclass(frozen=True)
class _Op:
    kind: Literal["text", "line", "band"]  # text: x, y its top left corner
    x: float
    y: float
    text: str = ""
    style: str = "body"
    x1: float = 0.0
    height: float = 0.0


class Measure:
    """Widths of text as drawn (matplotlib's Agg renderer at 72 dpi: pixels are points), per style."""

    def __init__(self, font: FontProperties, bold: FontProperties) -> None:
        self._renderer = RendererAgg(8, 8, 72)
        self._fonts: dict[str, FontProperties] = {}
        self._big: dict[str, FontProperties] = {}  # Agg rounds sizes to whole points: measure at 100 pt and scale
        self._sizes = {**SIZES, "title": TITLE_SIZE}
        for style, size in self._sizes.items():
            prop = (bold if style in BOLD else font).copy()
            prop.set_size(size)
            self._fonts[style] = prop
            big = prop.copy()
            big.set_size(100)
            self._big[style] = big

    def font(self, style: str) -> FontProperties:
        return self._fonts[style]

    def __call__(self, text: str, style: str) -> float:
        if not text:
            return 0.0
        width, _h, _d = self._renderer.get_text_width_height_descent(text, self._big[style], ismath=False)
        return float(width) * self._sizes[style] / 100


def wrap(text: str, width_pt: float, style: str, measure: Measure) -> list[str]:
    """`text` broken into lines no wider than `width_pt` in `style`, Latin words kept whole where they fit
    (any CJK character may start a line)."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        tokens = re.findall(r"[\u2e80-\uffff]|[^\s\u2e80-\uffff]+|\s+", paragraph)
        line = ""
        for tok in tokens:
            if tok in NO_LINE_START and line.strip():  # hanging punctuation: never begins a line
                line += tok
                continue
            if measure(line + tok, style) <= width_pt or not line.strip():
                if measure(line + tok, style) > width_pt and not tok.isspace():  # a word wider than the column
                    for ch in tok:
                        if line and measure(line + ch, style) > width_pt:
                            lines.append(line.rstrip())
                            line = ""
                        line += ch
                    continue
                line += tok
                continue
            lines.append(line.rstrip())
            line = "" if tok.isspace() else tok
        lines.append(line.rstrip())
    return [ln for ln in lines if ln] or [""]


def _line_height(style: str) -> float:
    return SIZES[style] * LINE


_Line = tuple[str, str, float]  # text, style, x offset from the cell's left edge


def _cell_lines(cell: Cell, width: float, measure: Measure) -> list[list[_Line]]:
    """A cell's text as lines, each a list of runs (a `run_on` part shares the line before when it fits)."""
    inner = (width - 2 * PAD) * 0.97  # a little room for rendering that differs from the measure
    out: list[list[_Line]] = []
    for part in cell:
        if not part.text:
            continue
        if part.run_on and out:
            last = out[-1]
            used = last[-1][2] + measure(last[-1][0], last[-1][1]) + 4
            if used + measure(part.text, part.style) <= inner:
                last.append((part.text, part.style, used))
                continue
        out.extend([[(ln, part.style, 0.0)] for ln in wrap(part.text, inner, part.style, measure)])
    return out


def _height(lines: list[list[_Line]]) -> float:
    return sum(max(_line_height(st) for _, st, _ in line) for line in lines)


def layout(
    *,
    title: str,
    subtitle: str,
    header: Sequence[str],
    sections: Sequence[Section],
    footer: Sequence[str],
    landscape: bool,
    measure: Measure,
) -> list[list[_Op]]:
    """The drawing operations of every page (points from the bottom-left corner)."""
    width, height = (A4[1], A4[0]) if landscape else A4
    text_w = width - 2 * MARGIN
    n = max(len(header) - 1, 1)
    label_w = text_w * LABEL_SHARE
    col_w = (text_w - label_w) / n
    xs = [MARGIN] + [MARGIN + label_w + i * col_w for i in range(n)]
    widths = [label_w] + [col_w] * n
    bottom = MARGIN + 14  # room for the page number
    pages: list[list[_Op]] = []
    ops: list[_Op] = []
    y = height - MARGIN

    def put(lines: list[list[_Line]], x: float, top: float) -> None:
        yy = top
        for line in lines:
            biggest = max(SIZES[st] for _, st, _ in line)
            for text, style, dx in line:  # smaller runs share the line's baseline, roughly
                ops.append(_Op("text", x + PAD + dx, yy - 0.8 * (biggest - SIZES[style]), text, style))
            yy -= max(_line_height(st) for _, st, _ in line)

    def header_row() -> None:
        nonlocal y
        cells = [_cell_lines([Part(h, "bold")], w, measure) for h, w in zip(header, widths, strict=False)]
        h = max(_height(c) for c in cells) + 2 * PAD
        ops.append(_Op("band", MARGIN, y - h, x1=width - MARGIN, height=h))
        for c, x in zip(cells, xs, strict=False):
            put(c, x, y - PAD)
        y -= h
        ops.append(_Op("line", MARGIN, y, x1=width - MARGIN, style="dark"))

    def new_page(header: bool = True) -> None:
        nonlocal ops, y
        pages.append(ops)
        ops = []
        y = height - MARGIN
        if header:
            header_row()

    for line in wrap(title, text_w, "title", measure):
        ops.append(_Op("text", MARGIN, y, line, "title"))
        y -= TITLE_SIZE * 1.3
    if subtitle:
        sub = [[(ln, "muted", 0.0)] for ln in wrap(subtitle, text_w, "muted", measure)]
        put(sub, MARGIN - PAD, y - 2)
        y -= _height(sub) + 6
    header_row()
    for section in sections:
        if not section.rows:
            continue
        heading = (
            [[(ln, "heading", 0.0)] for ln in wrap(section.title, text_w, "heading", measure)] if section.title else []
        )
        first = [_cell_lines(c, w, measure) for c, w in zip(section.rows[0], widths, strict=False)]
        need = _height(heading) + 6 + max(_height(c) for c in first) + 2 * PAD
        if y - need < bottom:
            new_page()
        if heading:
            y -= 4
            put(heading, MARGIN - PAD, y)
            y -= _height(heading) + 1
        for row in section.rows:
            cells = [_cell_lines(c, w, measure) for c, w in zip(row, widths, strict=False)]
            h = max(_height(c) for c in cells) + 2 * PAD
            if y - h < bottom:
                new_page()
            for c, x in zip(cells, xs, strict=False):
                put(c, x, y - PAD)
            y -= h
            ops.append(_Op("line", MARGIN, y, x1=width - MARGIN))
    notes = [[(ln, "muted", 0.0)] for text in footer for ln in wrap(text, text_w, "muted", measure)]
    if notes:  # a single page needs no page number: its notes may take that room
        if y - 8 - _height(notes) < (bottom if pages else MARGIN):
            new_page(header=False)
        y -= 8
        put(notes, MARGIN - PAD, y)
    pages.append(ops)
    return pages


def figures(
    *,
    title: str,
    subtitle: str,
    header: Sequence[str],
    sections: Sequence[Section],
    footer: Sequence[str] = (),
    landscape: bool = False,
) -> list[Figure]:
    """The table drawn on A4 pages, one matplotlib Figure a page (numbered when more than one)."""
    font = cjk_font()
    bold = font.copy()
    bold.set_weight("bold")
    measure = Measure(font, bold)
    pages = layout(
        title=title,
        subtitle=subtitle,
        header=header,
        sections=sections,
        footer=footer,
        landscape=landscape,
        measure=measure,
    )
    width, height = (A4[1], A4[0]) if landscape else A4
    out = []
    for number, ops in enumerate(pages, start=1):
        fig = Figure(figsize=(width / 72, height / 72), dpi=72)
        for op in ops:
            if op.kind == "band":
                fig.add_artist(
                    Line2D(
                        [op.x / width, op.x1 / width],
                        [(op.y + op.height / 2) / height] * 2,
                        linewidth=op.height,
                        color="#eef1f4",
                        solid_capstyle="butt",
                        transform=fig.transFigure,
                    )
                )
            elif op.kind == "line":
                fig.add_artist(
                    Line2D(
                        [op.x / width, op.x1 / width],
                        [op.y / height] * 2,
                        linewidth=0.8 if op.style == "dark" else 0.35,
                        color="#555555" if op.style == "dark" else "#c8ccd0",
                        transform=fig.transFigure,
                    )
                )
            else:
                fig.text(
                    op.x / width,
                    op.y / height,
                    op.text,
                    fontproperties=measure.font(op.style),
                    color=COLOURS.get(op.style, "#000000"),
                    va="top",
                    ha="left",
                )
        if len(pages) > 1:
            fig.text(
                0.5, 20 / height, f"{number} / {len(pages)}", fontproperties=font, fontsize=7, ha="center", color="#666"
            )
        out.append(fig)
    return out


def render_pdf(*, metadata: Mapping[str, str] | None = None, **table: Any) -> bytes:
    """The table as PDF bytes, one A4 page or more; `table` as for `figures`."""
    buf = io.BytesIO()
    meta = {k: v for k, v in (metadata or {}).items() if v}
    with PdfPages(buf, metadata=meta) as pdf:
        for fig in figures(**table):
            pdf.savefig(fig)
    return buf.getvalue()
