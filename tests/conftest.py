import pytest


def pytest_addoption(parser):
    parser.addoption("--regen-golden", action="store_true", help="Rewrite the golden metrics of each preset.")


@pytest.fixture
def regen_golden(request) -> bool:
    return request.config.getoption("--regen-golden")
