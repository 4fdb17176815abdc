"""A gallery of bad tender inputs and output paths: each is one line on stderr, exit status 2,
nothing written, and every input left as it was (content and permissions)."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from platoons.cli import main

LOTS = "lot_id,reserve_price,set_aside\nA,100,\nB,50,small\n"
BIDS = "bid_id,bidder_id,lots,price,quality,xor_group\nb1,acorn,A,80,0.5,\nb2,beacon,A;B,120,0.9,g\n"
BIDDERS = "bidder_id,size,max_lots\nacorn,large,1\nbeacon,small,\n"
RULES = "quality_weight: 0.3\n"
CATS = "goods 2\nbids 2\ndummy 1\n\n0\t10.5\t0\t2\t#\n1\t20\t0\t1\t#\n"
STANDARD = ["--lots", "{d}/lots.csv", "--bids", "{d}/bids.csv", "--bidders", "{d}/bidders.csv",
            "--rules", "{d}/rules.yaml"]
ROOT = hasattr(os, "geteuid") and os.geteuid() == 0  # root reads and writes whatever its mode says


def deep(depth: int) -> str:
    return "[" * depth + "]" * depth


def make_fifo(folder: Path, name: str) -> None:
    os.mkfifo(folder / name)


def make_folder(folder: Path, name: str) -> None:
    (folder / name).mkdir()


def make_link(folder: Path, name: str, target: str) -> None:
    (folder / name).symlink_to(folder / target)


def make_hard_link(folder: Path, name: str, target: str) -> None:
    os.link(folder / target, folder / name)


def make_read_only(folder: Path, name: str) -> None:
    (folder / name).write_text("old\n")
    (folder / name).chmod(0o444)


def make_unreadable(folder: Path, name: str) -> None:
    (folder / name).chmod(0o000)


# (case id, files to change {name: text or bytes}, command line after "tender" ({d} is the
# folder), words the message must contain, a preparation (function, arguments) or None)
CASES = [
    # Text that no buyer means.
    ("nul-in-lot-id", {"lots.csv": "lot_id,reserve_price\nA\0x,100\nB,50\n"}, STANDARD, ["lots.csv, line 2", "lot_id", "control characters"], None),
    ("nul-in-bidder-id", {"bids.csv": BIDS.replace("acorn", "ac\0orn")}, STANDARD[:4], ["bids.csv, line 2", "bidder_id", "control characters"], None),
    ("nul-in-package", {"bids.csv": BIDS.replace("A;B", "A;\0B")}, STANDARD, ["bids.csv, line 3", "lots", "control characters"], None),
    ("line-break-in-bid-id", {"bids.csv": BIDS.replace("b1,", '"b\n1",')}, STANDARD, ["bids.csv", "bid_id", "control characters"], None),
    ("duplicate-json-key-lots", {"lots.json": '[{"lot_id": "A", "lot_id": "B", "reserve_price": 1}]'}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json, line 1", "each key once", "'lot_id'"], None),
    ("duplicate-json-key-bids", {"bids.json": '[\n{"bid_id": "b1", "bidder_id": "x", "lots": ["A"], "price": 1, "price": 2, "quality": 0}]'}, ["--lots", "{d}/lots.csv", "--bids", "{d}/bids.json"], ["bids.json, line 2", "each key once", "'price'"], None),
    ("duplicate-json-key-rules", {"rules.json": '{"quality_weight": 0.3, "quality_weight": 0.9}'}, ["--lots", "{d}/lots.csv", "--bids", "{d}/bids.csv", "--rules", "{d}/rules.json"], ["rules.json", "each key once"], None),
    ("duplicate-yaml-key-rules", {"rules.yaml": "quality_weight: 0.3\nquality_weight: 0.9\n"}, STANDARD, ["rules.yaml, line 2", "quality_weight", "each key once"], None),
    ("yaml-alias-bomb", {"rules.yaml": "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a]\nc: [*b, *b, *b, *b, *b, *b, *b, *b]\n"}, STANDARD, ["rules.yaml, line 1", "without anchors or aliases"], None),
    ("400-digit-json-integer", {"lots.json": '[{"lot_id": "A", "reserve_price": 1' + "0" * 400 + "}]"}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json, line 1", "reserve_price", "<= 1e+12"], None),
    ("5000-digit-json-integer", {"lots.json": '[{"lot_id": "A", "reserve_price": 1' + "0" * 5000 + "}]"}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json", "numbers of a usual size"], None),
    ("deeply-nested-json-lots", {"lots.json": deep(100_000)}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json", "nested"], None),
    ("deeply-nested-json-item", {"lots.json": "[" + deep(100_000) + "]"}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json", "nested"], None),
    ("deeply-nested-json-rules", {"rules.json": deep(100_000)}, ["--lots", "{d}/lots.csv", "--bids", "{d}/bids.csv", "--rules", "{d}/rules.json"], ["rules.json", "nested"], None),
    ("json-nan", {"lots.json": '[{"lot_id": "A", "reserve_price": NaN}]'}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json", "no NaN or Infinity"], None),
    ("json-infinity", {"bids.json": '[{"bid_id": "b1", "bidder_id": "x", "lots": ["A"], "price": Infinity, "quality": 0}]'}, ["--lots", "{d}/lots.csv", "--bids", "{d}/bids.json"], ["bids.json", "no NaN or Infinity"], None),
    ("json-not-a-list", {"lots.json": '{"lot_id": "A", "reserve_price": 1}'}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json, line 1", "a JSON list of objects", "dict"], None),
    ("json-extra-after-list", {"lots.json": '[{"lot_id": "A", "reserve_price": 1}]\n[]'}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json, line 2", "extra data"], None),
    ("json-list-not-closed", {"lots.json": '[{"lot_id": "A", "reserve_price": 1},\n'}, ["--lots", "{d}/lots.json", "--bids", "{d}/bids.csv"], ["lots.json", "valid JSON"], None),
    ("reserve-1e20", {"lots.csv": "lot_id,reserve_price\nA,1e20\nB,5\n"}, STANDARD, ["lots.csv, line 2", "reserve_price", "<= 1e+12"], None),
    ("reserve-1e308", {"lots.csv": "lot_id,reserve_price\nA,1e308\nB,1e308\n"}, STANDARD, ["lots.csv, line 2", "reserve_price", "<= 1e+12"], None),
    ("reserve-inf", {"lots.csv": "lot_id,reserve_price\nA,inf\nB,5\n"}, STANDARD, ["lots.csv, line 2", "reserve_price", "'inf'"], None),
    ("price-1e300", {"bids.csv": BIDS.replace(",80,", ",1e300,")}, STANDARD, ["bids.csv, line 2", "price", "<= 1e+12"], None),
    ("price-nan", {"bids.csv": BIDS.replace(",80,", ",nan,")}, STANDARD, ["bids.csv, line 2", "price", "'nan'"], None),
    ("long-value-is-cut", {"lots.csv": "lot_id,reserve_price,set_aside\nA,100," + "x" * 20_000 + "\n"}, STANDARD, ["lots.csv, line 2", "set_aside", "..."], None),
    ("lots-is-a-folder", {}, ["--lots", "{d}/folder.csv", "--bids", "{d}/bids.csv"], ["folder.csv", "a regular file"], (make_folder, "folder.csv")),
    ("lots-is-a-fifo", {}, ["--lots", "{d}/fifo.csv", "--bids", "{d}/bids.csv"], ["fifo.csv", "a regular file"], (make_fifo, "fifo.csv")),
    ("lots-missing", {}, ["--lots", "{d}/none.csv", "--bids", "{d}/bids.csv"], ["none.csv", "an existing file"], None),
    ("lots-not-utf8", {"lots.csv": b"lot_id,reserve_price\n\xff,1\n"}, STANDARD, ["lots.csv", "UTF-8"], None),
    pytest.param("lots-unreadable", {}, STANDARD, ["lots.csv", "a readable file"], (make_unreadable, "lots.csv"),
                 marks=pytest.mark.skipif(ROOT, reason="root reads a file whatever its mode")),
    ("rules-unknown-extension", {"rules.txt": RULES}, ["--lots", "{d}/lots.csv", "--bids", "{d}/bids.csv", "--rules", "{d}/rules.txt"], ["rules.txt", "a .yaml, .yml or .json file"], None),
    ("rules-json-trailing", {"rules.json": '{"quality_weight": 0.3} {}'}, ["--lots", "{d}/lots.csv", "--bids", "{d}/bids.csv", "--rules", "{d}/rules.json"], ["rules.json", "extra data"], None),
    # CATS files and options.
    ("cats-no-hash", {"inst.txt": CATS.replace("2\t#", "2")}, ["--cats", "{d}/inst.txt"], ["inst.txt, line 5", "bid"], None),
    ("cats-good-out-of-range", {"inst.txt": CATS.replace("0\t1\t#", "0\t7\t#")}, ["--cats", "{d}/inst.txt"], ["inst.txt, line 6", "goods", "below goods + dummy = 3"], None),
    ("cats-negative-value", {"inst.txt": CATS.replace("10.5", "-3")}, ["--cats", "{d}/inst.txt"], ["inst.txt, line 5", "value", "> 0"], None),
    ("cats-bid-count", {"inst.txt": CATS.replace("bids 2", "bids 3")}, ["--cats", "{d}/inst.txt"], ["inst.txt", "3 bid lines", "2 lines"], None),
    ("cats-dummy-only", {"inst.txt": CATS.replace("0\t2\t#", "2\t#")}, ["--cats", "{d}/inst.txt"], ["inst.txt, line 5", "at least one real good"], None),
    ("cats-price-beyond-a-trillion", {"inst.txt": "goods 3\nbids 2\n0\t9e11\t0\t#\n1\t5\t0\t1\t2\t#\n"}, ["--cats", "{d}/inst.txt"], ["inst.txt, line 4", "R x goods <= 1e+12"], None),
    ("cats-and-lots", {"inst.txt": CATS}, ["--cats", "{d}/inst.txt", "--lots", "{d}/lots.csv"], ["--cats", "without --lots"], None),
    ("cats-dummy-mode", {"inst.txt": CATS}, ["--cats", "{d}/inst.txt", "--cats-dummy", "maybe"], ["--cats-dummy", "'xor' or 'lots'"], None),
    ("no-tender", {}, ["--bids", "{d}/bids.csv"], ["--lots", "--lots and --bids (or --cats)"], None),
    ("unknown-solver", {}, STANDARD + ["--solver", "gurobi"], ["--solver", "gurobi"], None),
    # Output paths: refused before anything is read or solved.
    ("out-is-lots", {}, STANDARD + ["--out", "{d}/lots.csv"], ["--out", "other than the input --lots"], None),
    ("ocds-is-bids", {}, STANDARD + ["--ocds", "{d}/bids.csv"], ["--ocds", "other than the input --bids"], None),
    ("out-is-rules", {}, STANDARD + ["--out", "{d}/rules.yaml"], ["--out", "other than the input --rules"], None),
    ("out-is-bidders-spelt-otherwise", {}, STANDARD + ["--out", "{d}/./sub/../bidders.csv"], ["--out", "other than the input --bidders"], (make_folder, "sub")),
    ("out-is-cats", {"inst.txt": CATS}, ["--cats", "{d}/inst.txt", "--out", "{d}/inst.txt"], ["--out", "other than the input --cats"], None),
    ("out-links-to-lots", {}, STANDARD + ["--out", "{d}/link.csv"], ["--out", "other than the input --lots"], (make_link, "link.csv", "lots.csv")),
    ("out-hard-links-to-bids", {}, STANDARD + ["--out", "{d}/hard.csv"], ["--out", "other than the input --bids"], (make_hard_link, "hard.csv", "bids.csv")),
    ("out-is-a-folder", {}, STANDARD + ["--out", "{d}/award"], ["--out", "a file, not a folder"], (make_folder, "award")),
    ("out-is-a-fifo", {}, STANDARD + ["--out", "{d}/award.csv"], ["--out", "a regular file"], (make_fifo, "award.csv")),
    ("ocds-is-a-device", {}, STANDARD + ["--ocds", "/dev/null"], ["--ocds", "a regular file"], None),
    ("out-in-proc", {}, STANDARD + ["--out", "/proc/x.csv"], ["--out", "a folder that can be written"], None),
    ("out-in-missing-folder", {}, STANDARD + ["--out", "{d}/no/award.csv"], ["--out", "an existing folder"], None),
    ("out-same-as-ocds", {}, STANDARD + ["--out", "{d}/award.json", "--ocds", "{d}/award.json"], ["--ocds", "a different file from --out"], None),
    pytest.param("out-read-only", {}, STANDARD + ["--out", "{d}/award.csv"], ["--out", "a writable file"], (make_read_only, "award.csv"),
                 marks=pytest.mark.skipif(ROOT, reason="root may write a read-only file")),
]


def _snapshot(folder: Path) -> dict[str, tuple[bytes | str, int]]:
    """Each entry's content (or kind) and permission bits."""
    state = {}
    for path in sorted(folder.rglob("*")):
        mode = path.lstat().st_mode
        if path.is_symlink():
            content: bytes | str = f"link to {os.readlink(path)}"
        elif stat.S_ISREG(mode) and mode & stat.S_IRUSR:
            content = path.read_bytes()
        else:
            content = "folder" if path.is_dir() else "special"
        state[str(path.relative_to(folder))] = (content, stat.S_IMODE(mode))
    return state


@pytest.mark.parametrize(("case", "files", "args", "words", "prepare"), CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_bad_input_is_one_line_exit_2_and_touches_nothing(tmp_path, capsys, case, files, args, words, prepare) -> None:
    defaults = {"lots.csv": LOTS, "bids.csv": BIDS, "bidders.csv": BIDDERS, "rules.yaml": RULES}
    for name, text in {**defaults, **files}.items():
        (tmp_path / name).write_bytes(text if isinstance(text, bytes) else text.encode())
    (tmp_path / "bids.csv").chmod(0o640)  # an unusual mode, which must survive
    if prepare is not None:
        prepare[0](tmp_path, *prepare[1:])
    before = _snapshot(tmp_path)
    try:
        main(["tender", *(arg.format(d=tmp_path) for arg in args)])
        code = 0
    except SystemExit as done:
        code = done.code
    out, err = capsys.readouterr()
    assert code == 2, err[:400]
    assert out == ""
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and len(err) < 300, err[:400]
    for word in words:
        assert word.format(d=tmp_path) in err, err[:400]
    assert _snapshot(tmp_path) == before


def test_the_gallery_has_forty_cases() -> None:
    assert len(CASES) >= 40
