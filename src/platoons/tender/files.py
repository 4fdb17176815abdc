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

A JSON input is a list of objects with the same fields, read in one pass; a key repeated in an
object, NaN or Infinity, and nesting too deep to read are errors. Unknown columns or keys are
errors. Ids may not hold control characters (a NUL, a line break). Amounts are at most
``MAX_AMOUNT``. A YAML rules file may not use anchors or aliases, nor repeat a key.
Every fault raises ``InputError`` naming the file, the field, what was expected, what was found
(cut to 60 characters) and the line, so the CLI can print it as one line.

Outputs are checked before anything is read (``check_outputs``) and written whole or not at all,
keeping the permissions of a file they replace (``write_atomically``).
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import re
import secrets
import stat
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from platoons.errors import InputError
from platoons.tender.award import (
    DEFAULT_QUALITY_WEIGHT,
    MAX_AMOUNT,
    Award,
    AwardRules,
    Bid,
    Lot,
    adjusted_price,
    surplus,
)

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")  # in an id: a NUL or line break that no buyer means

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
    "package_lots",
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
            raise InputError(str(path), "set_aside", "'small' or empty", shown(set_aside), record.line)
        lots.append(Lot(lot_id, _number(record, "reserve_price", path, low=0.0, high=MAX_AMOUNT), reserved))
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
                price=_number(record, "price", path, low=0.0, high=MAX_AMOUNT),
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
            raise InputError(str(path), "size", "'small' or 'large'", shown(size), record.line)
        bidders.append(Bidder(bidder_id, size.strip().lower(), _count(record, "max_lots", path)))
    return bidders


def read_rules(path: Path) -> dict[str, object]:
    """The rules file as checked settings: only ``RULE_KEYS``, each of the right kind."""
    text = read_text(path)
    suffix = path.suffix.lower()
    if suffix == ".json":
        data, end = parse_json(text, str(path), _skip_space(text, 0)) if text.strip() else (None, 0)
        if text.strip() and _skip_space(text, end) < len(text):
            raise InputError(str(path), "rules", "valid JSON", "extra data after the value", 1 + text.count("\n", 0, end))
    elif suffix in (".yaml", ".yml"):
        data = _yaml(text, str(path))
    else:
        raise InputError(str(path), "rules", "a .yaml, .yml or .json file", shown(path.suffix))
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
            raise InputError(str(path), str(shown(key)), f"one of {', '.join(RULE_KEYS)}", shown(key), line_of(key))
        where = (str(path), key, line_of(key))
        if key == "quality_weight":
            settings[key] = check_quality_weight(value, *where)
        elif key == "default_max_lots":
            settings[key] = check_lot_cap(value, *where)
        elif key == "time_limit_s":
            settings[key] = check_time_limit(value, *where)
        elif value is not None:
            if not isinstance(value, str) or not value.strip():
                raise InputError(where[0], key, "a non-empty text", shown(value), where[2])
            settings[key] = value.strip()
    return settings


def _yaml(text: str, source: str) -> object:
    """A YAML rules file, refused when it uses aliases (a few lines can expand to gigabytes) or
    repeats a key (YAML would keep the last silently)."""
    import yaml

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                line = event.start_mark.line + 1
                raise InputError(source, "rules", "plain YAML without anchors or aliases (& and *)", "an alias", line)
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        _no_repeated_keys(root, source)
        return yaml.safe_load(text)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise InputError(source, "rules", "valid YAML", shown(getattr(error, "problem", None) or str(error)), line) from None
    except RecursionError:
        raise InputError(source, "rules", "YAML nested a few levels deep", "nesting too deep to read", None) from None


def _no_repeated_keys(node: object, source: str) -> None:
    import yaml

    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value in seen:
                    raise InputError(source, str(shown(key.value)), "each key once", "a repeated key", key.start_mark.line + 1)
                seen.add(key.value)
            _no_repeated_keys(value, source)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _no_repeated_keys(item, source)


def check_quality_weight(value: object, source: str, field: str = "quality_weight", line: int | None = None) -> float:
    number = _as_number(value)
    if number is None or not 0.0 <= number <= 1.0:
        raise InputError(source, field, "a number from 0 to 1", shown(value), line)
    return number


def check_lot_cap(value: object, source: str, field: str = "default_max_lots", line: int | None = None) -> int | None:
    if value is None:
        return None
    number = _as_number(value)
    if number is None or number < 0 or not number.is_integer():
        raise InputError(source, field, "a whole number >= 0, or null for no cap", shown(value), line)
    return int(number)


def check_time_limit(value: object, source: str, field: str = "time_limit_s", line: int | None = None) -> float | None:
    if value is None:
        return None
    number = _as_number(value)
    if number is None or not number > 0:
        raise InputError(source, field, "a number of seconds > 0", shown(value), line)
    return number


def award_rows(tender: Tender, result: Award) -> list[dict[str, object]]:
    """One row per lot, in the order given: the winner and its bid, or why there is none.

    A package is named once per lot by its ``bid_id`` (its lots are the rows with that bid) and
    sized by ``package_lots``; its price and surplus are for the whole package and repeat on
    each of its rows, so totals must count each ``bid_id`` once. Every row has the same width,
    so the file grows with the lots, not with lots times package size.
    """
    bid_by_id = {bid.bid_id: bid for bid in tender.bids}
    reserve = {lot.lot_id: lot.reserve_price for lot in tender.lots}
    awarded = {entry.lot_id: entry for entry in result.awards}
    reasons = {entry.lot_id: entry.reason for entry in result.unawarded}
    weight = tender.rules.quality_weight
    scored: dict[str, tuple[float, float]] = {}  # bid id -> (adjusted price, surplus), once per bid
    rows: list[dict[str, object]] = []
    for lot in tender.lots:
        entry = awarded.get(lot.lot_id)
        if entry is None:
            rows.append({"lot_id": lot.lot_id, "reserve_price": lot.reserve_price, "unawarded_reason": reasons[lot.lot_id]})
            continue
        bid = bid_by_id[entry.bid_id]
        if bid.bid_id not in scored:
            scored[bid.bid_id] = (round(adjusted_price(bid, weight), 2), round(surplus(bid, reserve, weight), 2))
        adjusted, gain = scored[bid.bid_id]
        rows.append(
            {
                "lot_id": lot.lot_id,
                "reserve_price": lot.reserve_price,
                "bid_id": bid.bid_id,
                "bidder_id": bid.bidder_id,
                "bidder_size": tender.size_of(bid.bidder_id),
                "package_lots": len(bid.lots),
                "bid_price": bid.price,
                "quality": bid.quality,
                "adjusted_price": adjusted,
                "surplus": gain,
            }
        )
    return rows


def award_csv(tender: Tender, result: Award) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=AWARD_CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(award_rows(tender, result))
    return buffer.getvalue()


def check_outputs(outputs: dict[str, Path | None], inputs: dict[str, Path | None]) -> dict[str, Path]:
    """Where each output will be written, checked before any work: refuse what would go wrong later.

    ``outputs`` and ``inputs`` map options (``--out``) to paths. An output may not be a folder,
    a FIFO or another non-regular file, an input (also through a symlink or a hard link), the
    same file as another output, a read-only file, or in a folder that cannot be written (tried
    by creating and removing a file there). A symlink is followed: its target is written and the
    link kept. Returns the real path to write for each option given.
    """
    real_inputs = {option: path.resolve() for option, path in inputs.items() if path is not None}
    targets: dict[str, Path] = {}
    for option, path in outputs.items():
        if path is None:
            continue
        target = path.resolve()
        if target.exists() and target.is_dir():
            raise InputError(option, "path", "a file, not a folder", str(path))
        if target.exists() and not target.is_file():
            raise InputError(option, "path", "a regular file (not a FIFO, device or socket)", str(path))
        for other, real in real_inputs.items():
            if target == real or (target.exists() and real.exists() and os.path.samefile(target, real)):
                raise InputError(option, "path", f"a file other than the input {other}", str(path))
        for other, real in targets.items():
            if target == real:
                raise InputError(option, "path", f"a different file from {other}", str(path))
        folder = target.parent
        if not folder.is_dir():
            raise InputError(option, "path", "a file in an existing folder", str(path))
        if target.exists() and not os.access(target, os.W_OK):
            raise InputError(option, "path", "a writable file", f"{path}: read-only")
        try:
            handle, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.")
            os.close(handle)
            os.unlink(probe)
        except OSError as error:
            raise InputError(option, "path", "a file in a folder that can be written", f"{path}: {error.strerror}") from None
        targets[option] = target
    return targets


def write_atomically(outputs: dict[Path, str]) -> None:
    """Write each text in full to a temporary file beside its target, then move them all in.

    A file that is replaced keeps its permissions; a new one gets the usual ones (0666 less the
    umask), not the temporary file's 0600.
    """
    staged: list[tuple[str, Path]] = []
    try:
        for path, text in outputs.items():
            folder = path.parent if str(path.parent) else Path(".")
            temporary = str(folder / f".{path.name}.{secrets.token_hex(6)}.tmp")
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            staged.append((temporary, path))
            if path.is_file():
                os.fchmod(handle, stat.S_IMODE(path.stat().st_mode))
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                stream.write(text)
        for temporary, path in staged:
            os.replace(temporary, path)
    finally:
        for temporary, _ in staged:
            if os.path.exists(temporary):
                os.unlink(temporary)


# --- reading records ----------------------------------------------------------------------


def read_text(path: Path) -> str:
    """The whole of an input file; only regular files are read (a FIFO would block)."""
    try:
        if path.exists() and not path.is_file():
            kind = "a folder" if path.is_dir() else "not a regular file"
            raise InputError(str(path), "path", "a regular file", kind)
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputError(str(path), "path", "an existing file", "no such file") from None
    except UnicodeDecodeError as error:
        raise InputError(str(path), "encoding", "UTF-8 text", f"byte {error.object[error.start]:#x}") from None
    except OSError as error:
        raise InputError(str(path), "path", "a readable file", error.strerror or type(error).__name__) from None


def shown(value: object, limit: int = 60) -> object:
    """``value`` as an error message quotes it: long texts cut, so one bad field stays one short line."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return value
    return f"{text[: limit - 3]}..."


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
        raise InputError(str(path), "path", "a .csv or .json file", shown(path.suffix or path.name))
    for record in rows:
        if fields:
            for key in record.values:
                if key not in fields:
                    raise InputError(
                        str(path), str(shown(key)), f"one of the columns {', '.join(fields)}", shown(key), record.line
                    )
            for key in required:
                if record.values.get(key) in (None, ""):
                    raise InputError(str(path), key, "a value", record.values.get(key, ""), record.line)
        yield record


def _csv_records(path: Path) -> Iterator[_Record]:
    text = read_text(path)
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
                        raise InputError(str(path), "header", "distinct, non-empty column names", shown(name), line)
                    seen.add(name)
                continue
            if len(cells) != len(header):
                raise InputError(
                    str(path), "row", f"{len(header)} fields, as in the header", f"{len(cells)} fields", line
                )
            yield _Record(line, {name: cell for name, cell in zip(header, cells, strict=True) if cell != ""})
    except csv.Error as error:
        raise InputError(str(path), "row", "well-formed CSV", str(error), reader.line_num) from None


class _DuplicateKey(Exception):
    pass


class _NotANumber(Exception):
    pass


def _json_object(pairs: list[tuple[str, object]]) -> dict[str, object]:
    """A JSON object whose keys are all different (``json`` would keep the last silently)."""
    mapping = dict(pairs)
    if len(mapping) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(key for key, _ in pairs if key in seen or seen.add(key)))
    return mapping


def _json_constant(name: str) -> object:
    raise _NotANumber(name)


_JSON = json.JSONDecoder(object_pairs_hook=_json_object, parse_constant=_json_constant)


def parse_json(text: str, source: str, start: int = 0, line: int = 1) -> tuple[object, int]:
    """One JSON value from ``text[start:]`` and where it ends; faults are ``InputError`` at ``line``."""
    try:
        return _JSON.raw_decode(text, start)
    except json.JSONDecodeError as error:
        raise InputError(source, "file", "valid JSON", error.msg, error.lineno) from None
    except _DuplicateKey as error:
        raise InputError(source, "file", "each key once per JSON object", shown(error.args[0]), line) from None
    except _NotANumber as error:
        raise InputError(source, "file", "valid JSON (no NaN or Infinity)", error.args[0], line) from None
    except RecursionError:
        raise InputError(source, "file", "JSON nested a few levels deep", "nesting too deep to read", line) from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise InputError(source, "file", "numbers of a usual size", shown(str(error)), line) from None


def _json_records(path: Path) -> Iterator[_Record]:
    """The objects of a top-level JSON list, each with the line it starts on, in one pass."""
    text = read_text(path)
    source = str(path)
    if not text.strip():
        raise InputError(source, "file", "a JSON list of objects", "an empty file", 1)
    position = _skip_space(text, 0)
    if text[position] != "[":
        data, _ = parse_json(text, source, position)
        raise InputError(source, "file", "a JSON list of objects", type(data).__name__, 1)
    line = 1 + text.count("\n", 0, position)
    counted = position  # lines are counted up to here, so the file is scanned once
    position = _skip_space(text, position + 1)
    first = True
    while True:
        if position < len(text) and text[position] == "]":
            break
        if not first:
            if position >= len(text) or text[position] != ",":
                parse_json(text, source, 0)  # reports the fault with json's own words
                raise InputError(source, "file", "valid JSON", "a list that does not close", line)
            position = _skip_space(text, position + 1)
        first = False
        line += text.count("\n", counted, position)
        counted = position
        item, position = parse_json(text, source, position, line)
        if not isinstance(item, dict):
            raise InputError(source, "row", "a JSON object", shown(item), line)
        yield _Record(line, {key: value for key, value in item.items() if value is not None})
        position = _skip_space(text, position)
    rest = _skip_space(text, position + 1)
    if rest < len(text):
        raise InputError(source, "file", "valid JSON", "extra data after the list", line + text.count("\n", counted, rest))


def _skip_space(text: str, position: int) -> int:
    while position < len(text) and text[position] in " \t\r\n":
        position += 1
    return position


# --- checking fields ----------------------------------------------------------------------


def _identifier(record: _Record, field: str, path: Path) -> str:
    value = record.values.get(field)
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise InputError(str(path), field, "an id (text)", shown(value), record.line)
    text = str(value).strip()
    if not text or ";" in text:
        raise InputError(str(path), field, "a non-empty id without ';'", shown(value), record.line)
    if _CONTROL.search(text):
        raise InputError(str(path), field, "an id without control characters (such as NUL)", shown(value), record.line)
    return text


def _unique(identifier: str, field: str, line: int, first_line: dict[str, int], path: Path) -> None:
    if identifier in first_line:
        raise InputError(str(path), field, f"unique (already on line {first_line[identifier]})", shown(identifier), line)
    first_line[identifier] = line


def _as_number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, int | float):
            number = float(value)
        elif isinstance(value, str):
            number = float(value.strip())
        else:
            return None
    except (ValueError, OverflowError):  # OverflowError: an integer too large for a float
        return None
    return number if math.isfinite(number) else None


def _number(record: _Record, field: str, path: Path, low: float, high: float) -> float:
    value = record.values.get(field)
    number = _as_number(value)
    if number is None or number < low or number > high:
        expected = f"a number >= {low:g} and <= {high:g}" if high == MAX_AMOUNT else f"a number from {low:g} to {high:g}"
        raise InputError(str(path), field, expected, "" if value is None else shown(value), record.line)
    return number


def _count(record: _Record, field: str, path: Path) -> int | None:
    value = record.values.get(field)
    if value is None or value == "":
        return None
    number = _as_number(value)
    if number is None or number < 0 or not number.is_integer():
        raise InputError(str(path), field, "a whole number >= 0, or empty for the default", shown(value), record.line)
    return int(number)


def _package(record: _Record, path: Path) -> tuple[str, ...]:
    value = record.values.get("lots")
    if isinstance(value, str):
        parts = [part.strip() for part in value.split(";")]
    elif isinstance(value, list) and all(isinstance(part, str) for part in value):
        parts = [part.strip() for part in value]
    else:
        raise InputError(str(path), "lots", "lot ids separated by ';'", shown(value), record.line)
    if not parts or any(not part for part in parts):
        raise InputError(str(path), "lots", "lot ids separated by ';', none empty", shown(value), record.line)
    seen: set[str] = set()
    for part in parts:
        if part in seen:
            raise InputError(str(path), "lots", "each lot named once per bid", shown(part), record.line)
        if _CONTROL.search(part):
            raise InputError(str(path), "lots", "lot ids without control characters (such as NUL)", shown(part), record.line)
        seen.add(part)
    return tuple(parts)
