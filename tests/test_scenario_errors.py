"""A gallery of invalid scenario files: each fails with one line that names what is wrong."""

import subprocess
import sys
from pathlib import Path

import pytest

from platoons import load_scenario
from platoons.errors import InputError

GALLERY = sorted((Path(__file__).parent / "invalid").glob("*.yaml"))


def expected_words(path: Path) -> list[str]:
    first = path.read_text().splitlines()[0]
    assert first.startswith("# expect:"), f"{path.name} must start with '# expect: words | words'"
    return [w.strip() for w in first.removeprefix("# expect:").split("|")]


def test_gallery_is_large_enough():
    assert len(GALLERY) >= 15


@pytest.mark.parametrize("path", GALLERY, ids=lambda p: p.stem)
def test_invalid_file_is_rejected_with_its_words(path):
    with pytest.raises(InputError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert str(path) in message
    for word in expected_words(path):
        assert word in message, f"{word!r} not in {message!r}"


@pytest.mark.parametrize("path", GALLERY[:5], ids=lambda p: p.stem)
def test_cli_prints_one_line_and_exits_2(path):
    done = subprocess.run([sys.executable, "-m", "platoons", "validate", str(path)], capture_output=True, text=True)
    assert done.returncode == 2
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1
    assert done.stderr.startswith("error: ")


def test_bad_set_names_the_path():
    with pytest.raises(InputError, match="design.bidding.optimism"):
        load_scenario("default", {"design.bidding.optimism": -1})


def test_variant_leaves_the_baseline_untouched():
    from platoons import apply_changes

    base = load_scenario("default")
    variant = apply_changes(base, {"design.delivery.prime.management_fee": 0.3})
    assert base.design.delivery.prime.management_fee == 0.2
    assert variant.design.delivery.prime.management_fee == 0.3
