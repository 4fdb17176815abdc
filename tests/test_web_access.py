"""Who may reach the server: loopback only without a token; with one, nothing is shown to a request without it."""

import subprocess
import sys

import httpx
import pytest

from web_server import Server, free_port

TOKEN = "s3cret-token-for-tests"

pytestmark = pytest.mark.slow


def test_a_public_address_without_a_token_is_refused_in_one_line(tmp_path):
    port = free_port()
    done = subprocess.run([sys.executable, "-m", "platoons", "serve", "--host", "0.0.0.0", "--port", str(port),
                           "--data", str(tmp_path / "data")], capture_output=True, text=True, timeout=60,
                          env={k: v for k, v in __import__("os").environ.items() if k != "PLATOONS_TOKEN"})
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: --host: 0.0.0.0 needs --token (or PLATOONS_TOKEN): without a token the server binds only to the "
        "loopback address"]
    assert not (tmp_path / "data").exists()
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/", timeout=2)


@pytest.fixture(scope="module")
def guarded(tmp_path_factory):
    running = Server(tmp_path_factory.mktemp("data"), token=TOKEN).start()
    yield running
    running.stop()


def test_with_a_token_requests_without_it_get_401_and_see_nothing_stored(guarded):
    with guarded.client(TOKEN) as signed:
        design = signed.post("/api/designs", json={"preset": "local-lots", "name": "Secret lots"})
        assert design.status_code == 201, design.text
        design_id = design.json()["id"]
    for token in (None, "wrong"):
        with guarded.client(token) as stranger:
            for path in ("/api/designs", f"/api/designs/{design_id}", f"/api/designs/{design_id}/yaml", "/api/jobs",
                         "/openapi.json"):
                answer = stranger.get(path)
                assert answer.status_code == 401, path
                assert "Secret" not in answer.text and design_id not in answer.text
            assert stranger.post("/api/comparisons", json={"designs": ["local-lots"], "replicates": 1}).status_code == 401
            for page in ("/", f"/designs/{design_id}", "/jobs", "/docs"):
                answer = stranger.get(page)
                assert answer.status_code == 401 and "Sign in" in answer.text
                assert "Secret" not in answer.text and "local-lots" not in answer.text
    with guarded.client(TOKEN) as signed:
        assert signed.get("/api/jobs").json()["jobs"] == []  # the refused comparison left nothing behind


def test_the_sign_in_page_sets_a_cookie_for_the_pages(guarded):
    with httpx.Client(base_url=guarded.url, timeout=30) as browser:
        refused = browser.post("/signin", data={"token": "wrong", "next": "/jobs"})
        assert refused.status_code == 401 and "token: must be this server" in refused.text
        signed = browser.post("/signin", data={"token": TOKEN, "next": "/jobs"})
        assert signed.status_code == 303 and signed.headers["location"] == "/jobs"
        assert browser.get("/jobs").status_code == 200
        assert browser.get("/api/designs").status_code == 200  # the pages' own calls to the API
