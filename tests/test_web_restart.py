"""Stop the server while a job runs: finished results survive, the running job comes back interrupted and restartable."""

import signal

import pytest

from web_server import Server, wait_for

pytestmark = pytest.mark.slow
TINY = {"run.months": 24}


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_results_survive_a_restart_and_the_running_job_is_interrupted(tmp_path, how):
    server = Server(tmp_path / "data", "--jobs", "1").start()
    try:
        with server.client() as api:
            short = api.post("/api/comparisons", json={"designs": ["regional-prime"], "replicates": 2, "changes": TINY})
            short_id = short.json()["id"]
            assert wait_for(api, short_id)["status"] == "finished"
            before = api.get(f"/api/jobs/{short_id}/results").json()["summary"]
            long = api.post("/api/comparisons", json={"designs": ["local-lots"], "replicates": 8, "changes": TINY})
            long_id = long.json()["id"]
            waiting = api.post("/api/comparisons", json={"designs": ["regional-prime"], "replicates": 1, "changes": TINY})
            waiting_id = waiting.json()["id"]
            running = wait_for(api, long_id, ("running",), done_at_least=1)
            assert running["done"] < 8
        server.stop(how)

        server = Server(tmp_path / "data", "--jobs", "1").start()
        with server.client() as api:
            assert api.get(f"/api/jobs/{short_id}/results").json()["summary"] == before
            interrupted = api.get(f"/api/jobs/{long_id}").json()
            assert interrupted["status"] == "interrupted"
            assert interrupted["error"] == "the server stopped while this job was running"
            assert api.get(f"/api/jobs/{long_id}/results").status_code == 409
            assert wait_for(api, waiting_id)["status"] == "finished"  # the queue outlives the server
            page = api.get(f"/jobs/{long_id}")
            assert "interrupted" in page.text and "Restart" in page.text

            again = api.post(f"/api/jobs/{long_id}/restart")
            assert again.status_code == 200 and again.json()["status"] in ("queued", "running")
            assert wait_for(api, long_id)["status"] == "finished"
            assert api.get(f"/api/jobs/{long_id}/results").json()["designs"] == ["local-lots"]
    finally:
        server.stop()
