"""The JSON API against a live `platoons serve`: the CLI's messages for bad input, jobs, results, reproduction, tender."""

import io
import json
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from platoons import load_scenario, simulate
from platoons.errors import InputError
from test_hostile_inputs import CASES
from web_server import Server, wait_for

HERE = Path(__file__).parent
GALLERY = sorted((HERE / "invalid").glob("*.yaml"))
TENDER = HERE.parent / "examples" / "tender"
TINY = {"run.months": 24}

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("data"), "--max-runs", "60").start()
    yield running
    running.stop()


@pytest.fixture
def api(server):
    with server.client() as client:
        yield client


def scenario_file_cases():
    """The hostile gallery's refused scenario files that stand alone (no other file, no extra argument)."""
    with tempfile.TemporaryDirectory() as folder:
        for case in CASES:
            if case.code != 2:
                continue
            work = Path(folder) / case.id
            work.mkdir()
            argv = case.make(work)
            if argv[0] == "validate" and len(argv) == 2 and isinstance(argv[1], Path) and argv[1].is_file():
                text = argv[1].read_bytes()
                if b"base: " not in text or b"base: default" in text:
                    yield pytest.param(case, argv[1].name, text, id=case.id)


def expected_words(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    return [w.strip() for w in first.removeprefix("# expect:").split("|")]


def stored(api) -> tuple[int, int]:
    return len(api.get("/api/designs").json()), len(api.get("/api/jobs").json()["jobs"])


def one_line_error(response, status=400) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert set(body) <= {"error", "field"}
    assert "\n" not in body["error"] and "Traceback" not in body["error"]
    return body["error"]


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.stem)
def test_every_invalid_scenario_is_a_400_with_the_cli_words_and_nothing_stored(api, path):
    before = stored(api)
    text = path.read_text()
    for response in (api.post("/api/validate", json={"yaml": text, "file_name": path.name}),
                     api.post("/api/designs", json={"yaml": text, "file_name": path.name, "name": "x"}),
                     api.post("/api/designs/upload", files={"file": (path.name, text.encode())})):
        message = one_line_error(response)
        assert message.startswith(path.name), message
        for word in expected_words(path):
            assert word in message, f"{word!r} not in {message!r}"
    with pytest.raises(InputError) as cli:
        load_scenario(path)
    if path.stem != "unknown_base":  # a server reads no file a client names: its base must be a preset
        assert message == str(cli.value).replace(str(path), path.name)  # the CLI's message, file named as uploaded
    assert stored(api) == before


@pytest.mark.parametrize("case, name, text", list(scenario_file_cases()))
def test_every_hostile_scenario_file_is_a_400_with_the_cli_words_and_nothing_stored(api, case, name, text):
    before = stored(api)
    message = one_line_error(api.post("/api/designs/upload", files={"file": (name, text)}))
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"
    assert stored(api) == before


def test_a_base_must_be_a_preset_not_a_file_on_the_server(api):
    message = one_line_error(api.post("/api/validate", json={"yaml": f"base: {HERE / 'invalid' / 'wrong_type.yaml'}\n"}))
    assert "base must be one of the presets" in message and str(HERE) in message  # echoed, never read


@pytest.mark.parametrize("field", ["world.areas_file", "sector.providers_file"])
def test_a_csv_file_on_the_server_is_not_the_clients_to_name(api, tmp_path, field):
    secret = tmp_path / "server_secret.csv"
    secret.write_text("area,region,referrals_per_month\nsecret-area,secret-region,5\n")
    section, key = field.split(".")
    before = stored(api)
    for response in (api.post("/api/validate", json={"yaml": f"base: default\n{section}:\n  {key}: {secret}\n"}),
                     api.post("/api/designs", json={"yaml": f"{section}:\n  {key}: {secret}\n", "name": "x"}),
                     api.post("/api/validate", json={"preset": "default", "changes": {field: str(secret)}})):
        message = one_line_error(response)
        assert f"{field} must be empty in the web app" in message and "secret-area" not in message, message
    assert stored(api) == before


def test_a_bad_change_gets_the_message_set_gives(api):
    response = api.post("/api/validate", json={"preset": "regional-prime", "changes": {"design.bidding.optimism": -1}})
    message = one_line_error(response)
    with pytest.raises(InputError) as cli:
        load_scenario("regional-prime", {"design.bidding.optimism": -1})
    assert message.partition(": ")[2] == str(cli.value).partition(": ")[2]
    assert response.json()["field"] == "design.bidding.optimism"


def test_validate_says_what_platoons_validate_says(api):
    body = api.post("/api/validate", json={"preset": "local-lots", "changes": TINY}).json()
    assert body["valid"] and body["summary"].startswith("valid (local-lots:") and body["summary"].endswith("24 months)")


def test_malformed_requests_are_one_line_400s(api):
    assert "replicates" in one_line_error(api.post("/api/comparisons", json={"designs": ["local-lots"], "replicates": 0}))
    assert "bogus" in one_line_error(api.post("/api/comparisons", json={"designs": ["local-lots"], "bogus": 1}))
    assert "JSON" in one_line_error(api.post("/api/comparisons", content=b"{nope",
                                             headers={"content-type": "application/json"}))
    assert "designs.0" in one_line_error(api.post("/api/comparisons", json={"designs": ["nowhere"], "replicates": 1}))
    assert one_line_error(api.get("/api/jobs/j-000000000000"), 404)


def test_too_many_runs_are_refused_before_anything_is_stored(api):
    before = stored(api)
    message = one_line_error(api.post("/api/comparisons", json={"designs": ["local-lots", "consortium"], "replicates": 31}))
    assert message == ("replicates: this job would start 62 runs (2 designs x 31 replicates); "
                       "this server allows at most 60 runs per job")
    assert stored(api) == before


def test_an_upload_over_the_limit_is_refused(api):
    response = api.post("/api/designs/upload", files={"file": ("big.yaml", b"#" * (3 * 1024 * 1024))})
    assert "at most" in one_line_error(response, 413)


def test_a_run_gives_what_simulate_gives(api):
    job = api.post("/api/runs", json={"design": "regional-prime", "seed": 7, "changes": TINY}).json()
    assert job["status"] in ("queued", "running") and job["total"] == 1
    done = wait_for(api, job["id"])
    assert done["status"] == "finished"
    served = api.get(f"/api/jobs/{job['id']}/results").json()["summary"]["regional-prime"]
    expected = simulate(load_scenario("regional-prime", TINY), 7).metrics
    assert served["outcome_rate"]["mean"] == pytest.approx(expected["outcome_rate"], rel=1e-12)
    assert served["spend_gbp"]["mean"] == pytest.approx(expected["spend_gbp"], rel=1e-12)


def test_a_comparison_of_a_saved_design_gives_results_downloads_and_a_reproduction(api, tmp_path):
    saved = api.post("/api/designs", json={"preset": "regional-prime", "name": "Cheap prime",
                                           "changes": {"design.delivery.prime.management_fee": 0.05}})
    assert saved.status_code == 201, saved.text
    design = saved.json()
    assert design["id"].startswith("d-") and "management_fee: 0.05" in design["yaml"]
    assert api.post("/api/designs", json={"preset": "regional-prime", "name": "Cheap prime", "changes": {
        "design.delivery.prime.management_fee": 0.05}}).json()["id"] == design["id"]  # the same design, the same id

    job = api.post("/api/comparisons", json={"designs": ["regional-prime", design["id"]], "replicates": 2,
                                             "seed": 3, "changes": TINY})
    assert job.status_code == 202, job.text
    job_id = job.json()["id"]
    assert wait_for(api, job_id)["status"] == "finished"
    results = api.get(f"/api/jobs/{job_id}/results").json()
    assert results["designs"] == ["regional-prime", "cheap-prime"] and results["baseline"] == "regional-prime"
    assert set(results["verdicts"]["cheap-prime"].values()) <= {"better", "worse", "lean better", "lean worse", "same"}
    assert {s["key"] for s in results["sections"]} >= {"headline", "money", "market"}

    csv = api.get(f"/api/jobs/{job_id}/csv/headline.csv")
    assert csv.status_code == 200 and csv.text.startswith("metric,unit,better,design")
    archive = zipfile.ZipFile(io.BytesIO(api.get(f"/api/jobs/{job_id}/parquet.zip").content))
    assert {"runs.parquet", "metrics.parquet", "summary.parquet", "scenarios.parquet"} <= set(archive.namelist())
    assert "<!doctype html>" in api.get(f"/api/jobs/{job_id}/report.html").text[:100]

    steps = results["reproduce"]
    assert steps["cli"] == ("platoons compare regional-prime cheap-prime.yaml --replicates 2 --seed 3 "
                            "--set run.months=24 --out results/")
    for name, url in steps["downloads"].items():
        (tmp_path / name).write_text(api.get(url).text)
    snippet = steps["python"].replace('print(summary["cheap-prime"]["outcome_rate"])',
                                      "import json; print(json.dumps(summary))")
    ran = subprocess.run([sys.executable, "-c", snippet], cwd=tmp_path, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
    assert ran.returncode == 0, ran.stderr
    mine = json.loads(ran.stdout)
    for design_name in results["designs"]:
        for metric in ("outcome_rate", "spend_gbp", "hhi", "failures"):
            assert mine[design_name][metric]["mean"] == pytest.approx(results["summary"][design_name][metric]["mean"], rel=1e-12)


def test_a_queued_or_running_job_can_be_cancelled(api):
    job = api.post("/api/comparisons", json={"designs": ["local-lots"], "replicates": 40, "changes": TINY}).json()
    assert api.post(f"/api/jobs/{job['id']}/cancel").status_code == 200
    done = wait_for(api, job["id"], ("cancelled",))
    assert done["done"] < 40
    assert "no results" in one_line_error(api.get(f"/api/jobs/{job['id']}/results"), 409)


def test_the_tender_tool_awards_uploaded_files_as_the_cli_does(api, tmp_path):
    files = {key: (f"{key}.csv", (TENDER / f"{key}.csv").read_bytes()) for key in ("lots", "bids", "bidders")}
    files["rules"] = ("rules.yaml", (TENDER / "rules.yaml").read_bytes())
    served = api.post("/api/tender", files=files)
    assert served.status_code == 200, served.text
    body = served.json()
    out = tmp_path / "award.csv"
    cli = subprocess.run([sys.executable, "-m", "platoons", "tender", *(f"--{k}={TENDER / f'{k}.csv'}" for k in files
                          if k != "rules"), f"--rules={TENDER / 'rules.yaml'}", "--json", "--out", str(out)],
                         capture_output=True, text=True)
    assert cli.returncode == 0, cli.stderr
    expected = json.loads(cli.stdout)
    assert body["awards"] == expected["awards"] and body["unawarded"] == expected["unawarded"]
    assert body["award_csv"] == out.read_text()
    assert json.loads(body["ocds"])["releases"][0]["tender"]["lots"]


def test_a_bad_tender_file_gets_the_cli_message(api, tmp_path):
    from platoons.tender.files import read_lots

    bad = b"lot_id,reserve_price\nnorth,-5\n"
    message = one_line_error(api.post("/api/tender", files={"lots": ("lots.csv", bad),
                                                            "bids": ("bids.csv", (TENDER / "bids.csv").read_bytes())}))
    (tmp_path / "lots.csv").write_bytes(bad)
    with pytest.raises(InputError) as cli:
        read_lots(tmp_path / "lots.csv")
    assert message == str(cli.value).replace(f"{tmp_path}/", "")
    assert message.startswith("lots.csv, line 2: reserve_price must be a number >= 0")


def test_the_api_is_described_at_docs(api):
    schema = api.get("/openapi.json").json()
    assert {"/api/validate", "/api/runs", "/api/comparisons", "/api/jobs/{job_id}", "/api/jobs/{job_id}/results",
            "/api/tender"} <= set(schema["paths"])
    page = api.get("/docs")
    assert page.status_code == 200 and "POST /api/comparisons" in page.text and "cdn" not in page.text.lower()


def test_a_failure_inside_the_server_shows_no_traceback(api, server):
    job = api.post("/api/runs", json={"design": "local-lots", "changes": TINY}).json()
    assert wait_for(api, job["id"])["status"] == "finished"
    (server.data / "results" / job["id"] / "runs.parquet").unlink()  # the store damaged behind the server's back
    for answer in (api.get(f"/api/jobs/{job['id']}/results"), api.get(f"/results/{job['id']}")):
        assert answer.status_code == 500
        assert "the server could not do this; its log has the details" in answer.text
        assert "Traceback" not in answer.text and "runs.parquet" not in answer.text


def test_tender_rules_from_the_form_beat_the_rules_file_and_are_checked_as_the_cli_checks_them(api):
    files = {key: (f"{key}.csv", (TENDER / f"{key}.csv").read_bytes()) for key in ("lots", "bids", "bidders")}
    capped = api.post("/api/tender", files=files, data={"default_max_lots": "1", "quality_weight": "0"}).json()
    assert capped["quality_weight"] == 0
    winners = [a["bidder"] for a in capped["awards"] if a["bidder"] != "acorn"]  # the bidders file caps acorn at 2
    assert winners and len(winners) == len(set(winners))  # the others at one lot each
    free = [a["bidder"] for a in api.post("/api/tender", files=files, data={"quality_weight": "0"}).json()["awards"]]
    assert free.count("beacon") > 1  # without the cap, one bidder wins several
    message = one_line_error(api.post("/api/tender", files=files, data={"quality_weight": "2"}))
    assert message == "form: quality_weight must be a number from 0 to 1 (got '2')"
