"""Combinatorial Auction Test Suite (CATS) instances read as tenders.

A CATS file (Leyton-Brown, Pearson and Shoham, 2000) poses winner determination: comment lines
start with ``%``; then ``goods N``, ``bids M`` and ``dummy D``; then one line per bid,
``bid_id<TAB>value<TAB>good ... #`` with goods numbered from 0. Goods N and above are dummy
goods: bids that share one are mutually exclusive. The instance asks for the bids, no two
sharing a good, with the largest total value.

The mapping to a tender, chosen so that the tender's optimum equals the CATS optimum:

- every real good g becomes a lot ``g<g>`` with reserve price R = 1000 GBP (raised to the next
  power of ten when some bid's value per real good exceeds 1000, so that no price is negative);
- every bid b on n_b real goods with value v_b becomes bid ``b<id>`` at price ``R n_b - v_b``
  with quality 0, so its surplus is exactly v_b whatever the quality weight;
- a dummy good d becomes, by ``dummy``: ``"xor"`` (the default) the XOR group ``d<d>`` of the
  bids naming it (a bid may name at most one), or ``"lots"`` a lot ``d<d>`` with reserve 0;
- each bid's bidder is its XOR group (with ``"lots"``: the dummy good it names, if any), else
  the bid itself; there are no caps, no small bidders and no set-aside lots.
"""

from __future__ import annotations

import math
from pathlib import Path

from platoons.errors import InputError
from platoons.tender.award import MAX_AMOUNT, AwardRules, Bid, Lot
from platoons.tender.files import Tender, read_text, shown

DUMMY_MODES = ("xor", "lots")
RESERVE_PER_GOOD = 1000.0  # GBP; fits every bid of the CATS 2.1 distributions


def read_cats(path: Path, dummy: str = "xor", rules: AwardRules = AwardRules()) -> Tender:
    """The CATS instance at ``path`` as a tender whose optimum is the instance's optimum."""
    if dummy not in DUMMY_MODES:
        raise InputError("--cats-dummy", "dummy", "'xor' or 'lots'", dummy)
    source = str(path)
    header: dict[str, int] = {}
    raw: list[tuple[int, str, float, list[int]]] = []  # line, bid id, value, goods
    for line_number, line in enumerate(read_text(path).splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith("%"):
            continue
        words = text.split()
        if words[0] in ("goods", "bids", "dummy"):
            header[words[0]] = _whole(words[1] if len(words) == 2 else " ".join(words[1:]), source, words[0], line_number)
            continue
        if "goods" not in header:
            raise InputError(source, "goods", "a 'goods N' line before the bids", shown(text), line_number)
        raw.append(_bid_line(words, source, line_number, header["goods"] + header.get("dummy", 0)))
    for key in ("goods", "bids"):
        if key not in header:
            raise InputError(source, key, f"a '{key} N' line", "none")
    if header["goods"] < 1:
        raise InputError(source, "goods", "at least one good", header["goods"])
    if len(raw) != header["bids"]:
        raise InputError(source, "bids", f"{header['bids']} bid lines, as declared", f"{len(raw)} lines")

    n_goods = header["goods"]
    reserve = _reserve(raw, n_goods)
    lots = [Lot(f"g{g}", reserve) for g in range(n_goods)]
    dummies = sorted({g for *_, goods in raw for g in goods if g >= n_goods})
    if dummy == "lots":
        lots += [Lot(f"d{g}", 0.0) for g in dummies]
    bids: list[Bid] = []
    seen: dict[str, int] = {}
    for line_number, bid_id, value, goods in raw:
        if bid_id in seen:
            raise InputError(source, "bid_id", f"unique (already on line {seen[bid_id]})", bid_id, line_number)
        seen[bid_id] = line_number
        real = [g for g in goods if g < n_goods]
        fake = [g for g in goods if g >= n_goods]
        if not real:
            raise InputError(source, "goods", "at least one real good (below goods N)", goods, line_number)
        if dummy == "xor" and len(fake) > 1:
            raise InputError(
                source, "goods", "at most one dummy good per bid with --cats-dummy xor (try lots)", fake, line_number
            )
        if reserve * len(real) > MAX_AMOUNT:
            raise InputError(
                source, "value", f"values that keep R x goods <= {MAX_AMOUNT:g} (R = {reserve:g})", value, line_number
            )
        group = f"d{fake[0]}" if fake and dummy == "xor" else None
        package = tuple(f"g{g}" for g in real) + (tuple(f"d{g}" for g in fake) if dummy == "lots" else ())
        bidder = f"d{fake[0]}" if fake else f"b{bid_id}"
        bids.append(Bid(f"b{bid_id}", bidder, package, reserve * len(real) - value, 0.0, group))
    return Tender(lots=tuple(lots), bids=tuple(bids), rules=rules, bidders=None)


def _bid_line(words: list[str], source: str, line: int, n_all: int) -> tuple[int, str, float, list[int]]:
    if words[-1] != "#" or len(words) < 4:
        raise InputError(source, "bid", "'bid_id value good ... #'", shown(" ".join(words)), line)
    bid_id = str(_whole(words[0], source, "bid_id", line))
    try:
        value = float(words[1])
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0.0 < value <= MAX_AMOUNT):
        raise InputError(source, "value", f"a number > 0 and <= {MAX_AMOUNT:g}", shown(words[1]), line)
    goods = [_whole(word, source, "goods", line) for word in words[2:-1]]
    for good in goods:
        if good >= n_all:
            raise InputError(source, "goods", f"good numbers below goods + dummy = {n_all}", good, line)
    if len(set(goods)) != len(goods):
        raise InputError(source, "goods", "each good named once per bid", shown(goods), line)
    return line, bid_id, value, goods


def _whole(word: str, source: str, field: str, line: int) -> int:
    if not word.isascii() or not word.isdigit() or len(word) > 9:
        raise InputError(source, field, "a whole number >= 0", shown(word), line)
    return int(word)


def _reserve(raw: list[tuple[int, str, float, list[int]]], n_goods: int) -> float:
    """R = 1000, or the next power of ten when a bid values its real goods at more than that each."""
    most = max((value / sum(1 for g in goods if g < n_goods) for _, _, value, goods in raw if any(g < n_goods for g in goods)),
               default=0.0)
    return RESERVE_PER_GOOD if most <= RESERVE_PER_GOOD else 10.0 ** math.ceil(math.log10(most))
