"""The report: one offline HTML file, a pure function of the result store."""

import csv
import io
import json
import re
import shutil
import subprocess
import sys
from urllib.parse import unquote

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from platoons.report import build_report, read_table, write_report
from platoons.report.format import money, percent

DESIGNS = ("regional-prime", "local-lots", "consortium", "alliance", "outcomes-finance")


def platoons(*args):
    return subprocess.run([sys.executable, "-m", "platoons", *args], capture_output=True, text=True)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A small comparison, written by `platoons compare --out` as a user would."""
    directory = tmp_path_factory.mktemp("store")
    done = platoons("compare", *DESIGNS, "--replicates", "3", "--set", "run.months=24", "--executor", "sequential",
                    "--out", str(directory))
    assert done.returncode == 0, done.stderr
    return directory


def downloads(text):
    """filename -> rows of every CSV the report offers."""
    found = re.findall(r"<a download='([^']+)' href='data:text/csv;charset=utf-8,([^']*)'>", text)
    return {name: list(csv.DictReader(io.StringIO(unquote(data)))) for name, data in found}


def test_compare_writes_the_report_by_default(store):
    text = (store / "report.html").read_text()
    assert text == build_report(store)
    for design in DESIGNS:
        assert design in text


def test_no_report_flag(tmp_path):
    done = platoons("compare", "local-lots", "--replicates", "1", "--set", "run.months=12", "--no-report",
                    "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "metrics.parquet").exists() and not (tmp_path / "report.html").exists()


def test_report_command_rebuilds_the_same_file(store, tmp_path):
    out = tmp_path / "again.html"
    done = platoons("report", str(store), "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert str(out) in done.stdout
    assert out.read_text() == (store / "report.html").read_text()


def test_works_offline_with_plotly_inlined_once(store):
    text = (store / "report.html").read_text()
    markup = re.sub(r"<script[^>]*>.*?</script>", "<script></script>", text, flags=re.S)  # plotly.js quotes URLs
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", markup), "the page must not load anything"
    assert "<link" not in markup and "<script src" not in markup
    assert text.count("plotly.js v") == 1  # the library's banner: inlined once, not per chart
    assert "@media print" in text


def test_every_chart_and_table_has_a_reading_and_its_data(store):
    text = (store / "report.html").read_text()
    blocks = re.findall(r"<figure class='block [^']+' id='block-([^']+)'>(.*?)</figure>", text, re.S)
    keys = [key for key, _ in blocks]
    assert {"headline", "money-regional-prime", "money-local-lots", "money-consortium", "risk-by-tier", "risk-by-size",
            "small-providers", "outcomes-by-group", "market", "failures", "parameters-baseline",
            "parameters-by-design"} <= set(keys)
    for key, body in blocks:
        reading = re.search(r"<p class=reading>(.*?)</p>", body, re.S).group(1)
        assert reading.strip().endswith("."), key
        assert "download=" in body, key
    charts = re.findall(r"class=chart id='chart-([^']+)' data-key='\1'", text)
    tables = ("headline", "parameters", "glossary", "sensitivity-table", "went-wrong", "record")
    assert len(charts) == len(set(charts)) == len([k for k in keys if not k.startswith(tables)])


def test_headline_matches_the_summary_and_marks_the_baseline(store):
    text = (store / "report.html").read_text()
    rows = downloads(text)["headline.csv"]
    summary = {(r["design"], r["metric"]): r for r in pq.read_table(store / "summary.parquet").to_pylist()}
    for row in rows:
        expected = summary[(row["design"], row["metric"])]
        assert float(row["mean"] or "nan") == pytest.approx(expected["mean"], nan_ok=True)
        assert (row["baseline"] == "True") == (row["design"] == DESIGNS[0])
        withheld = bool(row["barely_ran"]) and row["metric"] in ("failures", "people_disrupted", "hhi")
        assert row["against_baseline"] in ({""} if row["design"] == DESIGNS[0] or row["better"] == "neither" else
                                           {"not compared"} if withheld else
                                           {"better", "worse", "lean better", "lean worse", "same"})
    assert "regional-prime <span class=base>baseline</span>" in text


def test_money_balances_at_every_party(store):
    """What each party receives equals what it passes on, spends and keeps (or draws from reserves)."""
    data = downloads((store / "report.html").read_text())
    for design in DESIGNS:
        net = {}
        for row in data[f"money-{design}.csv"]:
            amount = float(row["amount_gbp"])
            net[row["source"]] = net.get(row["source"], 0.0) - amount
            net[row["target"]] = net.get(row["target"], 0.0) + amount
        for party in ("prime", "centre", "alliance", "direct", "tier1", "tier2", "member", "provider", "investors"):
            assert abs(net.get(party, 0.0)) < 1e-3 * max(map(abs, net.values())), (design, party)


def test_money_is_the_mean_over_replicates(store):
    flows = pq.read_table(store / "flows.parquet").to_pylist()
    spent = sum(f["amount_gbp"] for f in flows if f["design"] == "local-lots" and f["source"] == "commissioner") / 3
    rows = downloads((store / "report.html").read_text())["money-local-lots.csv"]
    assert sum(float(r["amount_gbp"]) for r in rows if r["source"] == "commissioner") == pytest.approx(spent)


def test_readings_come_from_the_data(store):
    text = (store / "report.html").read_text()
    summary = {(r["design"], r["metric"]): r["mean"] for r in pq.read_table(store / "summary.parquet").to_pylist()}
    small = re.search(r"id='block-small-providers'>.*?<p class=reading>(.*?)</p>", text, re.S).group(1)
    share = {d: summary[(d, "small_share_of_spend")] for d in DESIGNS}
    best = max(share, key=share.get)
    assert small.startswith(best) and percent(share[best]) in small


def test_parameters_with_units_sources_and_what_designs_change(store):
    data = downloads((store / "report.html").read_text())
    baseline = {r["parameter"]: r for r in data["parameters.csv"]}
    assert baseline["design.eligibility.min_turnover_gbp"]["value"] == "20000000"
    assert baseline["design.eligibility.min_turnover_gbp"]["unit"] == "GBP/year"
    assert "WPC 2013" in baseline["design.eligibility.min_turnover_gbp"]["source"]
    assert baseline["run.months"]["value"] == "24"
    assert "job_ready: " in baseline["world.need_groups[].max_months"]["value"]
    changes = {(r["design"], r["parameter"]): r for r in data["parameters-by-design.csv"]}
    assert changes[("local-lots", "design.lots.structure")]["design_value"] == "area"
    assert changes[("local-lots", "design.lots.structure")]["baseline_value"] == "regional"
    assert ("local-lots", "design.name") not in changes


def test_scenarios_from_another_version_of_the_schema(store, tmp_path):
    """A stored scenario with a parameter the schema lacks, and without one it has, is listed as stored."""
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    rows = pq.read_table(copy / "scenarios.parquet").to_pylist()
    for row in rows:
        data = json.loads(row["scenario_json"])
        data["design"]["bidding"]["legacy_knob"] = 3
        del data["design"]["bidding"]["optimism"]
        row["scenario_json"] = json.dumps(data)
    pq.write_table(pa.Table.from_pylist(rows), copy / "scenarios.parquet")
    baseline = {r["parameter"]: r for r in downloads(build_report(copy))["parameters.csv"]}
    assert baseline["design.bidding.legacy_knob"]["value"] == "3" and baseline["design.bidding.legacy_knob"]["unit"] == ""
    assert baseline["design.bidding.optimism"]["value"] == "(not in the stored scenario)"
    assert baseline["design.lots.explicit[].name"]["value"] == "(none)" and "design.lots.explicit" not in baseline


def test_tables_may_be_folders_of_parts(store, tmp_path):
    """The same report whether each table is one file or a folder of part files."""
    parted = tmp_path / "parted"
    parted.mkdir()
    for path in store.glob("*.parquet"):
        table = pq.read_table(path)
        folder = parted / path.stem
        folder.mkdir()
        half = table.num_rows // 2
        pq.write_table(table.slice(0, half), folder / "part-0000.parquet")
        pq.write_table(table.slice(half), folder / "part-0001.parquet")
    assert read_table(parted, "metrics").num_rows == read_table(store, "metrics").num_rows
    assert build_report(parted) == build_report(store)


def test_both_forms_of_a_table_is_an_error(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    (copy / "runs").mkdir()
    shutil.copy(copy / "runs.parquet", copy / "runs" / "part-0000.parquet")
    done = platoons("report", str(copy))
    assert done.returncode == 2 and "runs" in done.stderr and "not both" in done.stderr


def test_without_a_summary_the_report_computes_it_from_the_metrics(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    (copy / "summary.parquet").unlink()
    computed = downloads(build_report(copy))["headline.csv"]
    stored = downloads((store / "report.html").read_text())["headline.csv"]
    assert len(computed) == len(stored)
    for mine, theirs in zip(computed, stored):
        assert mine["design"] == theirs["design"] and mine["metric"] == theirs["metric"]
        for column in ("mean", "low_5pct", "high_95pct"):
            assert float(mine[column] or "nan") == pytest.approx(float(theirs[column] or "nan"), rel=1e-9, nan_ok=True)


def test_missing_table_or_directory_is_one_line(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    (copy / "flows.parquet").unlink()
    done = platoons("report", str(copy))
    assert done.returncode == 2 and "flows" in done.stderr and "Traceback" not in done.stderr
    done = platoons("report", str(tmp_path / "nothing"))
    assert done.returncode == 2 and "nothing" in done.stderr


def test_sensitivity_section_when_the_store_has_indices(store, tmp_path):
    assert "id='sensitivity'" not in (store / "report.html").read_text()
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    parameters = ["design.payment.outcome_fee", "design.bidding.optimism", "design.delivery.prime.management_fee"]
    rows = [{"design": "regional-prime", "metric": metric, "parameter": p, "index": index, "value": value, "conf": 0.02}
            for metric in ("outcome_rate", "small_share_of_spend")
            for p, base in zip(parameters, (0.6, 0.1, 0.3)) for index, value in (("S1", base), ("ST", base + 0.05))]
    pq.write_table(pa.Table.from_pylist(rows), copy / "sensitivity.parquet")
    path = write_report(copy)
    text = path.read_text()
    assert "id='sensitivity'" in text and "chart-sensitivity-outcome-rate" in text
    assert "Outcome fee matters most for outcome rate (ST 0.65, against 0.35 for management fee)." in text
    table = downloads(text)["sensitivity-table-outcome-rate.csv"]
    assert [r["parameter"] for r in table] == ["Outcome fee", "Management fee", "Optimism"]
    assert [float(r["S1"]) for r in table] == [0.6, 0.3, 0.1]
    assert len(downloads(text)["sensitivity-small-share-of-spend.csv"]) == 6


def test_one_design_alone(tmp_path):
    done = platoons("run", "local-lots", "--set", "run.months=12", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = write_report(tmp_path).read_text()
    assert "no comparison to draw" in text and "parameters-by-design" not in text


@pytest.mark.slow
def test_report_of_the_main_job_is_under_10_mb(tmp_path):
    """The store of `make run` (the default designs, 20 replicates, 84 months) makes a report under 10 MB.

    The report holds means and percentiles, not replicates, so two replicates are simulated and their
    rows repeated to make twenty; the data the report reads then has the main job's shape.
    """
    source = tmp_path / "source"
    done = platoons("compare", "--replicates", "2", "--no-report", "--out", str(source))
    assert done.returncode == 0, done.stderr
    store = tmp_path / "store"
    store.mkdir()
    for path in source.glob("*.parquet"):
        table = pq.read_table(path)
        if "replicate" in table.column_names:
            copies = []
            for k in range(10):
                replicate = pc.add(table.column("replicate"), 2 * k)
                copies.append(table.set_column(table.column_names.index("replicate"), "replicate", replicate))
            table = pa.concat_tables(copies)
        pq.write_table(table, store / path.name)
    assert len(set(pq.read_table(store / "runs.parquet").column("replicate").to_pylist())) == 20
    size = write_report(store).stat().st_size
    print(f"report of {len(read_table(store, 'scenarios'))} designs x 20 replicates: {size / 1e6:.2f} MB")
    assert size < 10_000_000


def test_outcomes_finance_reading_names_what_investors_put_in_and_get_back(store):
    flows = pq.read_table(store / "flows.parquet").to_pylist()
    mine = [f for f in flows if f["design"] == "outcomes-finance"]
    put_in = sum(f["amount_gbp"] for f in mine if f["source"] == "investors") / 3
    paid = sum(f["amount_gbp"] for f in mine if f["source"] == "commissioner" and f["target"] == "investors") / 3
    text = (store / "report.html").read_text()
    reading = re.search(r"id='block-money-outcomes-finance'>.*?<p class=reading>(.*?)</p>", text, re.S).group(1)
    assert f"social investors put in {money(put_in)} and are paid {money(paid)} on outcomes" in reading


def as_sweep(store, directory, shift=0.0):
    """The store as a sweep of two futures, each with the store's runs; in future 1 every metric is `shift` higher,
    small providers' income is three times and all providers' income twice what it is in future 0."""
    directory.mkdir()
    for path in store.glob("*.parquet"):
        table = pq.read_table(path)
        if "replicate" in table.column_names and path.stem != "summary":
            zero = table.append_column("future", pa.array([0] * table.num_rows, pa.int64()))
            one = table.append_column("future", pa.array([1] * table.num_rows, pa.int64()))
            if path.stem == "timeseries":
                scale = {"small_income_gbp": 3.0, "provider_income_gbp": 2.0}
                factor = pa.array([scale.get(s, 1.0) for s in one.column("series").to_pylist()])
                one = one.set_column(one.column_names.index("value"), "value", pc.multiply(one.column("value"), factor))
            if path.stem == "metrics":
                one = one.set_column(one.column_names.index("value"), "value", pc.add(one.column("value"), shift))
            table = pa.concat_tables([zero, one])
        pq.write_table(table, directory / path.name)
    return build_report(directory)


def test_a_sweep_store_with_futures(store, tmp_path):
    """Runs differ by future as well as replicate: money is a mean over all runs, shares are taken run by run,
    and designs are compared with the baseline run for run."""
    text = as_sweep(store, tmp_path / "sweep")
    assert "6 runs of 24 months per design in 2 futures" in text
    before, after = downloads((store / "report.html").read_text()), downloads(text)
    for one, two in zip(before["money-local-lots.csv"], after["money-local-lots.csv"], strict=True):  # same money in each future
        assert (one["source"], one["target"], one["kind"]) == (two["source"], two["target"], two["kind"])
        assert float(one["amount_gbp"]) == pytest.approx(float(two["amount_gbp"]), rel=1e-12)
    shares = {(r["design"], r["month"]): r["mean"] for r in before["small-providers.csv"] if r["series"] == "small_share"}
    for row in after["small-providers.csv"]:
        if row["series"] == "small_share" and shares[(row["design"], row["month"])]:
            assert float(row["mean"]) == pytest.approx(1.25 * float(shares[(row["design"], row["month"])]))
    shifted = downloads(as_sweep(store, tmp_path / "shifted", shift=1000.0))
    assert [r["against_baseline"] for r in shifted["headline.csv"]] == [r["against_baseline"] for r in after["headline.csv"]]


def test_a_table_without_the_columns_a_report_reads(store, tmp_path):
    copy = tmp_path / "copy"
    shutil.copytree(store, copy)
    pq.write_table(pq.read_table(copy / "metrics.parquet").drop_columns(["replicate"]), copy / "metrics.parquet")
    done = platoons("report", str(copy))
    assert done.returncode == 2 and "metrics" in done.stderr and "replicate" in done.stderr
