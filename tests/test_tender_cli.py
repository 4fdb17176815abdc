"""`platoons tender`: outputs, and bad input as one line with exit status 2 and nothing written."""

from __future__ import annotations

import csv
import os
import json
import subprocess
import sys
from pathlib import Path

import pytest

from platoons.cli import main
from test_tender_files import EXAMPLE, GALLERY, spoiled

EXAMPLE_ARGS = [
    "tender",
    "--lots", str(EXAMPLE / "lots.csv"),
    "--bids", str(EXAMPLE / "bids.csv"),
    "--bidders", str(EXAMPLE / "bidders.csv"),
    "--rules", str(EXAMPLE / "rules.yaml"),
]


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        main(args)
        code = 0
    except SystemExit as done:
        code = int(done.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.mark.parametrize(("name", "text", "field", "line", "words"), GALLERY)
def test_bad_files_exit_2_with_one_line_and_write_nothing(tmp_path: Path, capsys, name, text, field, line, words):
    files = spoiled(tmp_path, name, text)
    out, ocds = tmp_path / "award.csv", tmp_path / "award.json"
    args = ["tender", "--lots", str(files["lots.csv"]), "--bids", str(files["bids.csv"]),
            "--bidders", str(files["bidders.csv"]), "--rules", str(files["rules.yaml"]),
            "--out", str(out), "--ocds", str(ocds)]
    code, stdout, stderr = run_cli(args, capsys)
    assert code == 2
    assert stdout == ""
    assert len(stderr.strip().splitlines()) == 1
    assert name in stderr and field in stderr and words in stderr
    if line is not None:
        assert f"line {line}" in stderr
    assert "Traceback" not in stderr
    assert not out.exists() and not ocds.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["lots.csv", "bids.csv", "bidders.csv", "rules.yaml"])


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--quality-weight", "1.5"], "--quality-weight: quality_weight must be a number from 0 to 1 (got 1.5)"),
        (["--time-limit", "0"], "--time-limit: time_limit_s must be a number of seconds > 0 (got 0.0)"),
        (["--out", "no/such/award.csv"], "--out: path must be a file in an existing folder (got 'no/such/award.csv')"),
    ],
)
def test_bad_options_exit_2_with_one_line(capsys, extra, message) -> None:
    code, stdout, stderr = run_cli(EXAMPLE_ARGS + extra, capsys)
    assert (code, stdout, stderr) == (2, "", f"error: {message}\n")


def test_a_bad_file_in_a_real_process(tmp_path: Path) -> None:
    files = spoiled(tmp_path, "bids.csv", "bid_id,bidder_id,lots,price,quality\nb1,acorn,A,80,2\n")
    done = subprocess.run(
        [sys.executable, "-m", "platoons", "tender", "--lots", str(files["lots.csv"]), "--bids", str(files["bids.csv"]),
         "--out", str(tmp_path / "award.csv")],
        capture_output=True, text=True,
    )
    assert done.returncode == 2
    assert done.stderr == f"error: {files['bids.csv']}, line 2: quality must be a number from 0 to 1 (got '2')\n"
    assert done.stdout == ""
    assert not (tmp_path / "award.csv").exists()


def test_json_output_has_the_promised_keys(capsys) -> None:
    code, stdout, _ = run_cli(EXAMPLE_ARGS + ["--json"], capsys)
    assert code == 0
    result = json.loads(stdout)
    assert {"objective", "optimal", "gap", "awards", "unawarded"} <= set(result)
    assert result["optimal"] is True and result["gap"] == 0.0
    assert set(result["awards"][0]) == {"lot", "bid", "bidder"}
    assert set(result["unawarded"][0]) == {"lot", "reason"}


def test_the_table_shows_winners_totals_and_the_solver(capsys) -> None:
    code, stdout, _ = run_cli(EXAMPLE_ARGS, capsys)
    assert code == 0
    for words in ("north", "beacon", "b07", "(package)", "£144,400", "lost to a package", "Savings against reserves",
                  "Lots per bidder: acorn 2, beacon 3, cedar 1", "Share of value to small bidders: 10.1%",
                  "Solver: optimal, gap 0.00%"):
        assert words in stdout


def test_award_csv_and_ocds_are_written(tmp_path: Path, capsys) -> None:
    out, ocds = tmp_path / "award.csv", tmp_path / "release.json"
    code, _, _ = run_cli(EXAMPLE_ARGS + ["--out", str(out), "--ocds", str(ocds), "--json"], capsys)
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 8 and rows[0]["bid_id"] == "b02"
    package = json.loads(ocds.read_text())
    assert package["version"] == "1.1" and package["publisher"] == {"name": "Example Council"}
    release = package["releases"][0]
    assert release["ocid"] == "ocds-unregistered-example-home-care" and release["tag"] == ["award"]
    awards = {a["id"]: a for a in release["awards"]}
    assert sorted(awards) == ["b02", "b03", "b05", "b07", "b12"]
    assert awards["b07"]["relatedLots"] == ["west", "central"]
    assert awards["b07"]["value"] == {"amount": 190000.0, "currency": "GBP"}
    assert awards["b07"]["suppliers"] == [{"id": "beacon", "name": "beacon"}]
    scale = {p["id"]: p["details"]["scale"] for p in release["parties"]}
    assert scale == {"acorn": "large", "beacon": "large", "cedar": "sme", "dove": "sme", "elm": "large"}
    harbour = next(lot for lot in release["tender"]["lots"] if lot["id"] == "harbour")
    assert harbour["status"] == "unsuccessful" and "lost to a package" in harbour["description"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["award.csv", "release.json"]


def test_the_same_files_give_the_same_award(capsys) -> None:
    runs = []
    for _ in range(2):
        code, stdout, _ = run_cli(EXAMPLE_ARGS + ["--json"], capsys)
        result = json.loads(stdout)
        result.pop("solve_seconds")
        runs.append(result)
    assert runs[0] == runs[1]


def _small_tender(folder: Path, price: str = "500") -> list[str]:
    (folder / "lots.csv").write_text("lot_id,reserve_price\nA,100\n")
    (folder / "bids.csv").write_text(f"bid_id,bidder_id,lots,price,quality\nb1,k1,A,{price},0.5\n")
    return ["tender", "--lots", str(folder / "lots.csv"), "--bids", str(folder / "bids.csv")]


def test_the_table_prints_when_no_bid_wins(tmp_path: Path, capsys) -> None:
    code, stdout, stderr = run_cli(_small_tender(tmp_path), capsys)
    assert (code, stderr) == (0, "")
    assert "no acceptable bid" in stdout and "Total price of winning bids: £0" in stdout


def test_a_replaced_output_keeps_its_permissions_and_a_new_one_is_not_private(tmp_path: Path, capsys) -> None:
    args = _small_tender(tmp_path, price="50")
    kept, fresh = tmp_path / "kept.csv", tmp_path / "fresh.json"
    kept.write_text("old\n")
    kept.chmod(0o640)
    code, _, _ = run_cli(args + ["--out", str(kept), "--ocds", str(fresh)], capsys)
    assert code == 0
    assert kept.read_text().startswith("lot_id,") and (kept.stat().st_mode & 0o777) == 0o640
    umask = os.umask(0)
    os.umask(umask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~umask


def test_an_output_symlink_is_followed_and_kept(tmp_path: Path, capsys) -> None:
    args = _small_tender(tmp_path, price="50")
    target, link = tmp_path / "real.csv", tmp_path / "link.csv"
    target.write_text("old\n")
    link.symlink_to(target)
    code, _, _ = run_cli(args + ["--out", str(link)], capsys)
    assert code == 0
    assert link.is_symlink() and target.read_text().startswith("lot_id,")


def test_outputs_hold_no_infinity_at_the_largest_amounts(tmp_path: Path, capsys) -> None:
    lots = "lot_id,reserve_price\n" + "".join(f"L{j},1e12\n" for j in range(300))
    bids = "bid_id,bidder_id,lots,price,quality\n" + "".join(f"b{j},k{j},L{j},1,0\n" for j in range(300))
    (tmp_path / "lots.csv").write_text(lots)
    (tmp_path / "bids.csv").write_text(bids)
    ocds = tmp_path / "release.json"
    code, stdout, _ = run_cli(["tender", "--lots", str(tmp_path / "lots.csv"), "--bids", str(tmp_path / "bids.csv"),
                               "--json", "--ocds", str(ocds)], capsys)
    assert code == 0

    def refuse(name: str) -> None:
        raise AssertionError(f"{name} in JSON output")

    assert json.loads(stdout, parse_constant=refuse)["optimal"] is True
    package = json.loads(ocds.read_text(), parse_constant=refuse)
    assert package["releases"][0]["tender"]["value"]["amount"] == 3e14


def test_the_award_csv_names_a_large_package_once(tmp_path: Path, capsys) -> None:
    n = 3000
    lots = "lot_id,reserve_price\n" + "".join(f"lot-{j:05d},100\n" for j in range(n))
    package = ";".join(f"lot-{j:05d}" for j in range(n))
    (tmp_path / "lots.csv").write_text(lots)
    (tmp_path / "bids.csv").write_text(f"bid_id,bidder_id,lots,price,quality\nbig,k1,{package},1000,0\n")
    out = tmp_path / "award.csv"
    code, _, _ = run_cli(["tender", "--lots", str(tmp_path / "lots.csv"), "--bids", str(tmp_path / "bids.csv"),
                          "--out", str(out), "--json"], capsys)
    assert code == 0
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == n and {row["bid_id"] for row in rows} == {"big"} and rows[0]["package_lots"] == str(n)
    assert max(len(line) for line in out.read_text().splitlines()[1:]) < 100  # no row lists the package's lots


def test_each_ocds_publication_is_a_new_release_and_declares_its_extensions(tmp_path: Path) -> None:
    from datetime import datetime, timezone

    from platoons.tender import award
    from platoons.tender.files import read_tender
    from platoons.tender.ocds import release_package

    tender = read_tender(EXAMPLE / "lots.csv", EXAMPLE / "bids.csv", EXAMPLE / "bidders.csv")
    result = award(tender.lots, tender.bids, tender.rules)
    first, second = (
        release_package(tender, result, ocid="ocds-x", published=datetime(2026, 1, 1, 0, 0, s, tzinfo=timezone.utc),
                        uri="file:///r.json")
        for s in (1, 2)
    )
    assert first["releases"][0]["id"] != second["releases"][0]["id"]
    assert any("partyDetails_scale" in url for url in first["extensions"])
    assert any("lots_extension" in url for url in first["extensions"])
