"""Reading tender files: CSV and JSON say the same thing, and every fault names file, field and line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from platoons.errors import InputError
from platoons.tender import AwardRules, Bid, Lot, award
from platoons.tender.files import award_csv, read_rules, read_tender, write_atomically

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "tender"


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_reads_as_expected() -> None:
    tender = read_tender(EXAMPLE / "lots.csv", EXAMPLE / "bids.csv", EXAMPLE / "bidders.csv", EXAMPLE / "rules.yaml")
    assert len(tender.lots) == 8 and len(tender.bids) == 13
    assert tender.lots[5] == Lot("rural", 60000.0, set_aside=True)
    assert tender.bids[6] == Bid("b07", "beacon", ("west", "central"), 190000.0, 0.8)
    assert tender.bids[5].xor_group == "cedar-one"
    assert tender.rules == AwardRules(
        quality_weight=0.3,
        max_lots={"acorn": 2},
        default_max_lots=None,
        small_bidders=frozenset({"cedar", "dove"}),
        time_limit_s=10.0,
    )
    assert tender.ocid == "ocds-unregistered-example-home-care"


def test_json_files_say_the_same_as_csv(tmp_path: Path) -> None:
    tender = read_tender(EXAMPLE / "lots.csv", EXAMPLE / "bids.csv", EXAMPLE / "bidders.csv")
    lots = [{"lot_id": lot.lot_id, "reserve_price": lot.reserve_price, "set_aside": lot.set_aside} for lot in tender.lots]
    bids = [
        {"bid_id": b.bid_id, "bidder_id": b.bidder_id, "lots": list(b.lots), "price": b.price, "quality": b.quality,
         "xor_group": b.xor_group}
        for b in tender.bids
    ]
    sizes = {"acorn": ("large", 2), "beacon": ("large", None), "cedar": ("small", None), "dove": ("small", None),
             "elm": ("large", None)}
    bidders = [{"bidder_id": k, "size": size, "max_lots": cap} for k, (size, cap) in sizes.items()]
    as_json = read_tender(
        write(tmp_path, "lots.json", json.dumps(lots, indent=1)),
        write(tmp_path, "bids.json", json.dumps(bids, indent=1)),
        write(tmp_path, "bidders.json", json.dumps(bidders, indent=1)),
    )
    assert as_json == tender


def test_rules_files_in_json_and_command_line_overrides(tmp_path: Path) -> None:
    rules = write(tmp_path, "rules.json", '{"quality_weight": 0.5, "default_max_lots": 3, "time_limit_s": 2}')
    assert read_rules(rules) == {"quality_weight": 0.5, "default_max_lots": 3, "time_limit_s": 2.0}
    tender = read_tender(EXAMPLE / "lots.csv", EXAMPLE / "bids.csv", None, rules, {"quality_weight": 0.1})
    assert tender.rules.quality_weight == 0.1
    assert tender.rules.default_max_lots == 3
    assert tender.rules.small_bidders == frozenset()  # no bidders file: nobody is small


def test_without_a_bidders_file_set_aside_lots_go_unawarded() -> None:
    tender = read_tender(EXAMPLE / "lots.csv", EXAMPLE / "bids.csv")
    result = award(tender.lots, tender.bids, tender.rules)
    assert ("rural", "no acceptable bid") in [(u.lot_id, u.reason) for u in result.unawarded]


def test_blank_lines_a_byte_order_mark_and_spaces_are_tolerated(tmp_path: Path) -> None:
    lots = tmp_path / "lots.csv"
    lots.write_bytes("\ufefflot_id , reserve_price\n\n A , 10 \n".encode())
    bids = write(tmp_path, "bids.csv", "bid_id,bidder_id,lots,price,quality\nb1,x, A ,5,0.5\n\n")
    tender = read_tender(lots, bids)
    assert tender.lots == (Lot("A", 10.0),)
    assert tender.bids == (Bid("b1", "x", ("A",), 5.0, 0.5),)


def test_a_header_only_bids_file_is_a_tender_with_no_bids(tmp_path: Path) -> None:
    bids = write(tmp_path, "bids.csv", "bid_id,bidder_id,lots,price,quality\n")
    tender = read_tender(EXAMPLE / "lots.csv", bids)
    assert tender.bids == ()
    assert {u.reason for u in award(tender.lots, tender.bids).unawarded} == {"no bid"}


LOTS = "lot_id,reserve_price,set_aside\nA,100,\nB,50,small\n"
BIDS = "bid_id,bidder_id,lots,price,quality,xor_group\nb1,acorn,A,80,0.5,\nb2,beacon,A;B,120,0.9,g\n"
BIDDERS = "bidder_id,size,max_lots\nacorn,large,1\nbeacon,small,\n"

# (file to spoil, its bad text, field, line, words the message must contain)
GALLERY = [
    ("lots.csv", "", "header", 1, "an empty file"),
    ("lots.csv", "lot_id,reserve_price\n", "lot_id", None, "at least one lot"),
    ("lots.csv", "lot_id,reserve_price\nA,100\nA,50\n", "lot_id", 3, "already on line 2"),
    ("lots.csv", "lot_id,reserve_price\nA,-1\nB,1\n", "reserve_price", 2, "a number >= 0"),
    ("lots.csv", "lot_id,reserve_price\nA,100\nB,ten\n", "reserve_price", 3, "'ten'"),
    ("lots.csv", "lot_id,reserve_price,set_aside\nA,100,\nB,50,tiny\n", "set_aside", 3, "'small' or empty"),
    ("lots.csv", "lot_id,reserve\nA,100\nB,50\n", "reserve", 2, "one of the columns"),
    ("lots.csv", "lot_id,reserve_price\nA,100\nB,50,7\n", "row", 3, "2 fields, as in the header"),
    ("lots.csv", 'lot_id,reserve_price\nA,100\n"B,50\n', "row", 3, "well-formed CSV"),
    ("bids.csv", BIDS.replace("b2,", "b1,"), "bid_id", 3, "already on line 2"),
    ("bids.csv", BIDS.replace("A;B", "A;Z"), "lots", 3, "lot ids from"),
    ("bids.csv", BIDS.replace("A;B", "A;;B"), "lots", 3, "none empty"),
    ("bids.csv", BIDS.replace("A;B", "A;A"), "lots", 3, "each lot named once"),
    ("bids.csv", BIDS.replace(",80,", ",-80,"), "price", 2, "a number >= 0"),
    ("bids.csv", BIDS.replace(",80,", ",,"), "price", 2, "a value"),
    ("bids.csv", BIDS.replace("0.9", "1.5"), "quality", 3, "a number from 0 to 1"),
    ("bids.csv", BIDS.replace("beacon", "cedar"), "bidder_id", 3, "a bidder listed in"),
    ("bids.csv", "bid_id,bidder_id,lots,price\nb1,acorn,A,80\n", "quality", 2, "a value"),
    ("bidders.csv", BIDDERS.replace("small", "medium"), "size", 3, "'small' or 'large'"),
    ("bidders.csv", BIDDERS.replace("large,1", "large,1.5"), "max_lots", 2, "a whole number >= 0"),
    ("bidders.csv", BIDDERS + "acorn,small,\n", "bidder_id", 4, "already on line 2"),
    ("rules.yaml", "quality_weight: 0.3\nqualty_weight: 0.4\n", "qualty_weight", 2, "one of quality_weight"),
    ("rules.yaml", "quality_weight: 1.3\n", "quality_weight", 1, "a number from 0 to 1"),
    ("rules.yaml", "default_max_lots: -1\n", "default_max_lots", 1, "a whole number >= 0"),
    ("rules.yaml", "time_limit_s: 0\n", "time_limit_s", 1, "a number of seconds > 0"),
    ("rules.yaml", "quality_weight: [0.3\n", "rules", 2, "valid YAML"),
]


def spoiled(folder: Path, name: str, text: str) -> dict[str, Path]:
    files = {
        "lots.csv": write(folder, "lots.csv", LOTS),
        "bids.csv": write(folder, "bids.csv", BIDS),
        "bidders.csv": write(folder, "bidders.csv", BIDDERS),
        "rules.yaml": write(folder, "rules.yaml", "quality_weight: 0.3\n"),
    }
    write(folder, name, text)
    return files


@pytest.mark.parametrize(("name", "text", "field", "line", "words"), GALLERY)
def test_bad_files_name_file_field_and_line(tmp_path: Path, name, text, field, line, words) -> None:
    files = spoiled(tmp_path, name, text)
    with pytest.raises(InputError) as caught:
        read_tender(files["lots.csv"], files["bids.csv"], files["bidders.csv"], files["rules.yaml"])
    error = caught.value
    assert (Path(error.source).name, error.field, error.line) == (name, field, line)
    assert words in str(error)


def test_the_good_versions_of_the_gallery_files_are_good(tmp_path: Path) -> None:
    files = spoiled(tmp_path, "lots.csv", LOTS)
    tender = read_tender(files["lots.csv"], files["bids.csv"], files["bidders.csv"], files["rules.yaml"])
    assert award(tender.lots, tender.bids, tender.rules).winning_bids == ("b2",)


@pytest.mark.parametrize(
    ("text", "field", "line", "words"),
    [
        ('[\n  {"lot_id": "A", "reserve_price": 1},\n  {"lot_id": "B", "reserve_price": -2}\n]', "reserve_price", 3,
         "a number >= 0"),
        ('[\n  {"lot_id": "A", "reserve_price": 1},\n  {"lot_id": "B", "reserve_price": "x"}\n]', "reserve_price", 3,
         "'x'"),
        ('[\n  {"lot_id": "A", "reserve_price": 1}\n  {"lot_id": "B"}\n]', "file", 3, "valid JSON"),
        ('{"lot_id": "A", "reserve_price": 1}', "file", 1, "a JSON list of objects"),
        ('[\n  {"lot_id": "A", "reserve_price": 1},\n  "B"\n]', "row", 3, "a JSON object"),
    ],
)
def test_bad_json_names_the_line_of_the_object(tmp_path: Path, text, field, line, words) -> None:
    with pytest.raises(InputError) as caught:
        read_tender(write(tmp_path, "lots.json", text), write(tmp_path, "bids.csv", BIDS.splitlines()[0] + "\n"))
    assert (caught.value.field, caught.value.line) == (field, line)
    assert words in str(caught.value)


def test_a_missing_file_and_an_unknown_extension(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="an existing file"):
        read_tender(tmp_path / "nope.csv", tmp_path / "bids.csv")
    with pytest.raises(InputError, match="a .csv or .json file"):
        read_tender(write(tmp_path, "lots.txt", LOTS), tmp_path / "bids.csv")


def test_award_csv_has_a_row_per_lot() -> None:
    tender = read_tender(EXAMPLE / "lots.csv", EXAMPLE / "bids.csv", EXAMPLE / "bidders.csv")
    rows = list(csv.DictReader(io.StringIO(award_csv(tender, award(tender.lots, tender.bids, tender.rules)))))
    assert [row["lot_id"] for row in rows] == [lot.lot_id for lot in tender.lots]
    central = next(row for row in rows if row["lot_id"] == "central")
    assert (central["bid_id"], central["package_lots"], central["adjusted_price"]) == ("b07", "2", "144400.0")
    # The package is named by its bid id on each of its lots, not by listing its lots again.
    assert [row["lot_id"] for row in rows if row["bid_id"] == "b07"] == ["west", "central"]
    assert next(row for row in rows if row["lot_id"] == "harbour")["unawarded_reason"] == "lost to a package"


def test_writes_are_whole_or_nothing(tmp_path: Path) -> None:
    target = tmp_path / "award.csv"
    write_atomically({target: "a,b\n"})
    assert target.read_text() == "a,b\n"
    with pytest.raises(FileNotFoundError):
        write_atomically({target: "changed\n", tmp_path / "missing" / "x.json": "{}"})
    assert target.read_text() == "a,b\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["award.csv"]
