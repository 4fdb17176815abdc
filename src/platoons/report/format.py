"""Numbers as people read them, by unit."""

from __future__ import annotations

import math


def number(value: float | None, unit: str = "") -> str:
    """`value` in the form its unit suggests: shares as percentages, money in pounds."""
    if value is None or not math.isfinite(value):
        return "n/a"
    if unit.startswith("share") and not unit.startswith("share of"):
        return percent(value)
    if unit.startswith("GBP"):
        return money(value)
    if unit.startswith("index 0-10,000"):
        return f"{value:,.0f}"
    if unit in ("people", "providers", "referrals"):
        return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.1f}".removesuffix(".0")
    return plain(value)


def percent(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    scaled = value * 100
    return f"{scaled:.0f}%" if abs(scaled) >= 10 else f"{scaled:.1f}%"


def money(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    sign, size = ("-" if value < 0 else ""), abs(value)
    if size >= 1e9:
        return f"{sign}£{size / 1e9:.2f}bn"
    if size >= 1e6:
        return f"{sign}£{size / 1e6:.1f}m"
    if size >= 1e3:
        return f"{sign}£{size:,.0f}"
    return f"{sign}£{size:.2f}"


def plain(value: float) -> str:
    if not math.isfinite(value):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.3g}"
