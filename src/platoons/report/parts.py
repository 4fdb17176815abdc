"""What a report is made of: sections of charts and tables, each with its reading and its data."""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from typing import Any

# Okabe-Ito: distinguishable with the common colour-vision deficiencies, and in greyscale print.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000",
           "#999999", "#882255", "#44AA99", "#117733")


@dataclass(frozen=True)
class Data:
    """A chart's or table's data, offered as a CSV download."""

    filename: str
    header: tuple[str, ...]
    rows: list[tuple]

    def csv(self) -> str:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(self.header)
        writer.writerows([_cell(v) for v in row] for row in self.rows)
        return out.getvalue()


@dataclass(frozen=True)
class Chart:
    key: str  # unique in the report: the element id and the PNG file name
    title: str
    reading: str  # one sentence, computed from the data
    figure: Any  # a plotly Figure
    data: Data


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    reading: str
    html: str
    data: Data


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    intro: str
    blocks: list[Chart | Table] = field(default_factory=list)


def design_colours(designs: list[str]) -> dict[str, str]:
    return {d: PALETTE[i % len(PALETTE)] for i, d in enumerate(designs)}


def translucent(colour: str, alpha: float) -> str:
    red, green, blue = (int(colour[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _cell(value: Any) -> Any:
    if isinstance(value, float):
        return "" if not math.isfinite(value) else repr(value)
    return "" if value is None else value
