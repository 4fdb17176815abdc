"""Tender files in and award files out, checked at the boundary.

Inputs are CSV or JSON, chosen by the file's extension:

- lots: ``lot_id, reserve_price[, set_aside]``; ``set_aside`` is ``small`` (only small bidders
  may win the lot) or empty (open). In JSON, ``set_aside`` may also be true or false.
- bids: ``bid_id, bidder_id, lots, price, quality[, xor_group]``; ``lots`` is a ``;``-separated
  list of lot ids (a JSON list in JSON), ``quality`` in [0, 1], prices in GBP.
- bidders (optional): ``bidder_id, size[, max_lots]``; ``size`` is ``small`` or ``large``.
  When a bidders file is given, every bid's bidder must be in it; bidders without bids are
  allowed. Without one, every bidder counts as large (so set-aside lots cannot be awarded)
  and only ``default_max_lots`` caps them.
- rules (optional, YAML or JSON): ``quality_weight``, ``default_max_lots``, ``time_limit_s``,
  and for the OCDS output ``ocid`` and ``publisher``.

A JSON input is a list of objects with the same fields. Unknown columns or keys are errors.
Every fault raises ``InputError`` naming the file, the field, what was expected, what was found
and the line, so the CLI can print it as one line. Outputs are written whole or not at all.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from platoons.errors import InputError
from platoons.tender.award import (
    DEFAULT_QUALITY_WEIGHT,
    Award,
    AwardRules,
    Bid,
    Lot,
    adjusted_price,
    surplus,
)

SMALL = "small"
LARGE = "large"

LOT_FIELDS = ("lot_id", "reserve_price", "set_aside")
BID_FIELDS = ("bid_id", "bidder_id", "lots", "price", "quality", "xor_group")
BIDDER_FIELDS = ("bidder_id", "size", "max_lots")
RULE_KEYS = ("quality_weight", "default_max_lots", "time_limit_s", "ocid", "publisher")
AWARD_CSV_FIELDS = (
    "lot_id",
    "reserve_price",
    "bid_id",
    "bidder_id",
    "bidder_size",
    "package",
    "bid_price",
    "quality",
    "adjusted_price",
    "surplus",
    "unawarded_reason",
)


@dataclass(frozen=True, slots=True)
class Bidder:
    bidder_id: str
    size: str  # "small" | "large"
    max_lots: int | None = None


@dataclass(frozen=True, slots=True)
class Tender:
    """Everything read from a tender's files: the input to ``award`` and to the reports."""

    lots: tuple[Lot, ...]
    bids: tuple[Bid, ...]
    rules: AwardRules
    bidders: tuple[Bidder, ...] | None  # None: no bidders file was given
    ocid: str | None = None
    publisher: str | None = None

    def size_of(self, bidder_id: str) -> str:
        return SMALL if bidder_id in self.rules.small_bidders else LARGE


@dataclass(frozen=True, slots=True)
class _Record:
    line: int
    values: dict[str, object]


def read_tender(
    lots_path: Path,
    bids_path: Path,
    bidders_path: Path | None = None,
    rules_path: Path | None = None,
    overrides: dict[str, object] | None = None,
) -> Tender:
    """Read and check a whole tender. ``overrides`` (from the command line) beat the rules file."""
    lots = read_lots(lots_path)
    bidders = read_bidders(bidders_path) if bidders_path is not None else None
    bids = read_bids(bids_path, lots, lots_path, bidders, bidders_path)
    settings = read_rules(rules_path) if rules_path is not None else {}
    for key, value in (overrides or {}).items():
        if value is not None:
            settings[key] = value

    rules = AwardRules(
        quality_weight=float(settings.get("quality_weight", DEFAULT_QUALITY_WEIGHT)),
        max_lots={b.bidder_id: b.max_lots for b in bidders or () if b.max_lots is not None},
        default_max_lots=settings.get("default_max_lots"),  # type: ignore[arg-type]
        small_bidders=frozenset(b.bidder_id for b in bidders or () if b.size == SMALL),
        time_limit_s=settings.get("time_limit_s"),  # type: ignore[arg-type]
    )
    return Tender(
        lots=tuple(lots),
        bids=tuple(bids),
        rules=rules,
        bidders=tuple(bidders) if bidders is not None else None,
        ocid=settings.get("ocid"),  # type: ignore[arg-type]
        publisher=settings.get("publisher"),  # type: ignore[arg-type]
    )


def read_lots(path: Path) -> list[Lot]:
    lots: list[Lot] = []
    first_line: dict[str, int] = {}
    for record in _records(path, LOT_FIELDS, required=("lot_id", "reserve_price")):
        lot_id = _identifier(record, "lot_id", path)
        _unique(lot_id, "lot_id", record.line, first_line, path)
        set_aside = record.values.get("set_aside")
        if set_aside in (None, "", False, "open"):
            reserved = False
        elif set_aside is True or (isinstance(set_aside, str) and set_aside.strip().lower() == SMALL):
            reserved = True
        else:
            raise InputError(str(path), "set_aside", "'small' or empty", set_aside, record.line)
        lots.append(Lot(lot_id, _number(record, "reserve_price", path, low=0.0), reserved))
    if not lots:
        raise InputError(str(path), "lot_id", "at least one lot", "no rows")
    return lots


def read_bids(
    path: Path,
    lots: Iterable[Lot],
    lots_path: Path | str = "the lots file",
    bidders: Iterable[Bidder] | None = None,
    bidders_path: Path | str = "the bidders file",
) -> list[Bid]:
    """Bids on ``lots``; when ``bidders`` is given, every bid's bidder must be among them."""
    lot_ids = {lot.lot_id for lot in lots}
    bidder_ids = {bidder.bidder_id for bidder in bidders} if bidders is not None else None
    bids: list[Bid] = []
    first_line: dict[str, int] = {}
    for record in _records(path, BID_FIELDS, required=("bid_id", "bidder_id", "lots", "price", "quality")):
        bid_id = _identifier(record, "bid_id", path)
        _unique(bid_id, "bid_id", record.line, first_line, path)
        package = _package(record, path)
        for lot_id in package:
            if lot_id not in lot_ids:
                raise InputError(str(path), "lots", f"lot ids from {lots_path}", lot_id, record.line)
        bidder_id = _identifier(record, "bidder_id", path)
        if bidder_ids is not None and bidder_id not in bidder_ids:
            raise InputError(str(path), "bidder_id", f"a bidder listed in {bidders_path}", bidder_id, record.line)
        group = record.values.get("xor_group")
        bids.append(
            Bid(
                bid_id=bid_id,
                bidder_id=bidder_id,
                lots=package,
                price=_number(record, "price", path, low=0.0),
                quality=_number(record, "quality", path, low=0.0, high=1.0),
                xor_group=_identifier(record, "xor_group", path) if group is not None else None,
            )
        )
    return bids


def read_bidders(path: Path) -> list[Bidder]:
    bidders: list[Bidder] = []
    first_line: dict[str, int] = {}
    for record in _records(path, BIDDER_FIELDS, required=("bidder_id", "size")):
        bidder_id = _identifier(record, "bidder_id", path)
        _unique(bidder_id, "bidder_id", record.line, first_line, path)
        size = record.values.get("size")
        if not isinstance(size, str) or size.strip().lower() not in (SMALL, LARGE):
            raise InputError(str(path), "size", "'small' or 'large'", size, record.line)
        bidders.append(Bidder(bidder_id, size.strip().lower(), _count(record, "max_lots", path)))
    return bidders


def read_rules(path: Path) -> dict[str, object]:
    """The rules file as checked settings: only ``RULE_KEYS``, each of the right kind."""
    text = _text(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as error:
            raise InputError(str(path), "rules", "valid JSON", error.msg, error.lineno) from None
    elif suffix in (".yaml", ".yml"):
        import yaml

        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as error:
            mark = getattr(error, "problem_mark", None)
            line = mark.line + 1 if mark is not None else None
            raise InputError(str(path), "rules", "valid YAML", getattr(error, "problem", str(error)), line) from None
    else:
        raise InputError(str(path), "rules", "a .yaml, .yml or .json file", path.suffix)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise InputError(str(path), "rules", "a mapping of rule names to values", type(data).__name__, 1)

    def line_of(key: str) -> int | None:
        match = re.search(rf"^\s*[\"']?{re.escape(str(key))}[\"']?\s*:", text, re.MULTILINE)
        return text.count("\n", 0, match.start()) + 1 if match else None

    settings: dict[str, object] = {}
    for key, value in data.items():
        if key not in RULE_KEYS:
            raise InputError(str(path), str(key), f"one of {', '.join(RULE_KEYS)}", key, line_of(key))
        where = (str(path), key, line_of(key))
        if key == "quality_weight":
            settings[key] = check_quality_weight(value, *where)
        elif key == "default_max_lots":
            settings[key] = check_lot_cap(value, *where)
        elif key == "time_limit_s":
            settings[key] = check_time_limit(value, *where)
        elif value is not None:
            if not isinstance(value, str) or not value.strip():
                raise InputError(where[0], key, "a non-empty text", value, where[2])
            settings[key] = value.strip()
    return settings


def check_quality_weight(value: object, source: str, field: str = "quality_weight", line: int | None = None) -> float:
    number = _as_number(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise InputError(source, field, "a number from 0 to 1", value, line)
    return number


def check_lot_cap(value: object, source: str, field: str = "default_max_lots", line: int | None = None) -> int | None:
    if value is None:
        return None
    number = _as_number(value)
    if number is None or number < 0 or not number.is_integer():
        raise InputError(source, field, "a whole number >= 0, or null for no cap", value, line)
    return int(number)


def check_time_limit(value: object, source: str, field: str = "time_limit_s", line: int | None = None) -> float | None:
    if value is None:
        return None
    number = _as_number(value)
    if number is None or not number > 0:
        raise InputError(source, field, "a number of seconds > 0", value, line)
    return number


def award_rows(tender: Tender, result: Award) -> list[dict[str, object]]:
    """One row per lot, in the order given: the winner and its bid, or why there is none.

    A package bid's price is for the whole package; it is repeated on each of its lots, with the
    package listed, so totals must count each bid once.
    """
    bid_by_id = {bid.bid_id: bid for bid in tender.bids}
    reserve = {lot.lot_id: lot.reserve_price for lot in tender.lots}
    awarded = {entry.lot_id: entry for entry in result.awards}
    reasons = {entry.lot_id: entry.reason for entry in result.unawarded}
    weight = tender.rules.quality_weight
    rows: list[dict[str, object]] = []
    for lot in tender.lots:
        entry = awarded.get(lot.lot_id)
        if entry is None:
            rows.append({"lot_id": lot.lot_id, "reserve_price": lot.reserve_price, "unawarded_reason": reasons[lot.lot_id]})
            continue
        bid = bid_by_id[entry.bid_id]
        rows.append(
            {
                "lot_id": lot.lot_id,
                "reserve_price": lot.reserve_price,
                "bid_id": bid.bid_id,
                "bidder_id": bid.bidder_id,
                "bidder_size": tender.size_of(bid.bidder_id),
                "package": ";".join(bid.lots),
                "bid_price": bid.price,
                "quality": bid.quality,
                "adjusted_price": round(adjusted_price(bid, weight), 2),
                "surplus": round(surplus(bid, reserve, weight), 2),
            }
        )
    return rows


def award_csv(tender: Tender, result: Award) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=AWARD_CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(award_rows(tender, result))
    return buffer.getvalue()


def check_writable(path: Path, option: str) -> None:
    """Fail before any work if ``path`` could not be written: its folder must exist."""
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise InputError(option, "path", "a file in an existing folder", str(path))
    if path.is_dir():
        raise InputError(option, "path", "a file, not a folder", str(path))


def write_atomically(outputs: dict[Path, str]) -> None:
    """Write each text in full to a temporary file beside its target, then move them all in."""
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in outputs.items():
            handle, temporary = tempfile.mkstemp(dir=path.parent if str(path.parent) else ".", prefix=f".{path.name}.")
            staged.append((temporary, path))
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
        for temporary, path in staged:
            os.replace(temporary, path)
    finally:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.unlink(temporary)


# --- reading records ----------------------------------------------------------------------


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), "path", "an existing file", "no such file") from None
    except IsADirectoryError:
        raise InputError(str(path), "path", "a file", "a folder") from None
    except UnicodeDecodeError as error:
        raise InputError(str(path), "encoding", "UTF-8 text", f"byte {error.object[error.start]:#x}") from None


def _records(
    path: Path, fields: tuple[str, ...] = (), required: tuple[str, ...] = ()
) -> Iterator[_Record]:
    """Rows of a CSV or JSON file as dicts with line numbers; columns checked against ``fields``."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _csv_records(path)
    elif suffix == ".json":
        rows = _json_records(path)
    else:
        raise InputError(str(path), "path", "a .csv or .json file", path.suffix or path.name)
    for record in rows:
        if fields:
            for key in record.values:
                if key not in fields:
                    raise InputError(str(path), str(key), f"one of the columns {', '.join(fields)}", key, record.line)
            for key in required:
                if record.values.get(key) in (None, ""):
                    raise InputError(str(path), key, "a value", record.values.get(key, ""), record.line)
        yield record


def _csv_records(path: Path) -> Iterator[_Record]:
    text = _text(path)
    if not text.strip():
        raise InputError(str(path), "header", "a header line naming the columns", "an empty file", 1)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    header: list[str] | None = None
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            cells = [cell.strip() for cell in row]
            if header is None:
                header = cells
                seen: set[str] = set()
                for name in header:
                    if not name or name in seen:
                        raise InputError(str(path), "header", "distinct, non-empty column names", name, line)
                    seen.add(name)
                continue
            if len(cells) != len(header):
                raise InputError(
                    str(path), "row", f"{len(header)} fields, as in the header", f"{len(cells)} fields", line
                )
            yield _Record(line, {name: cell for name, cell in zip(header, cells, strict=True) if cell != ""})
    except csv.Error as error:
        raise InputError(str(path), "row", "well-formed CSV", str(error), reader.line_num) from None


def _json_records(path: Path) -> Iterator[_Record]:
    text = _text(path)
    if not text.strip():
        raise InputError(str(path), "file", "a JSON list of objects", "an empty file", 1)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise InputError(str(path), "file", "valid JSON", error.msg, error.lineno) from None
    if not isinstance(data, list):
        raise InputError(str(path), "file", "a JSON list of objects", type(data).__name__, 1)
    lines = _json_item_lines(text, len(data))
    for item, line in zip(data, lines, strict=True):
        if not isinstance(item, dict):
            raise InputError(str(path), "row", "a JSON object", item, line)
        yield _Record(line, {key: value for key, value in item.items() if value is not None})


def _json_item_lines(text: str, count: int) -> list[int]:
    """The line on which each item of a top-level JSON list starts."""
    decoder = json.JSONDecoder()
    position = text.index("[") + 1
    lines: list[int] = []
    for _ in range(count):
        while text[position] in " \t\r\n,":
            position += 1
        lines.append(text.count("\n", 0, position) + 1)
        _, position = decoder.raw_decode(text, position)
    return lines


# --- checking fields ----------------------------------------------------------------------


def _identifier(record: _Record, field: str, path: Path) -> str:
    value = record.values.get(field)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(str(path), field, "an id (text)", value, record.line)
    text = str(value).strip()
    if not text or ";" in text:
        raise InputError(str(path), field, "a non-empty id without ';'", value, record.line)
    return text


def _unique(identifier: str, field: str, line: int, first_line: dict[str, int], path: Path) -> None:
    if identifier in first_line:
        raise InputError(str(path), field, f"unique (already on line {first_line[identifier]})", identifier, line)
    first_line[identifier] = line


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


def _number(record: _Record, field: str, path: Path, low: float, high: float | None = None) -> float:
    value = record.values.get(field)
    number = _as_number(value)
    if number is None or number < low or (high is not None and number > high):
        expected = f"a number from {low:g} to {high:g}" if high is not None else f"a number >= {low:g}"
        raise InputError(str(path), field, expected, "" if value is None else value, record.line)
    return number


def _count(record: _Record, field: str, path: Path) -> int | None:
    value = record.values.get(field)
    if value is None or value == "":
        return None
    number = _as_number(value)
    if number is None or number < 0 or not number.is_integer():
        raise InputError(str(path), field, "a whole number >= 0, or empty for the default", value, record.line)
    return int(number)


def _package(record: _Record, path: Path) -> tuple[str, ...]:
    value = record.values.get("lots")
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(";")]
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        parts = [part.strip() for part in value]
    else:
        raise InputError(str(path), "lots", "lot ids separated by ';'", value, record.line)
    if not parts or any(not part for part in parts):
        raise InputError(str(path), "lots", "lot ids separated by ';', none empty", value, record.line)
    repeated = sorted({part for part in parts if parts.count(part) > 1})
    if repeated:
        raise InputError(str(path), "lots", "each lot named once per bid", repeated[0], record.line)
    return tuple(parts)
