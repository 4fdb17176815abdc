"""Platoons: a lab for commissioning public services."""

__version__ = "0.1.0"

from platoons.scenario.load import apply_changes, load_scenario
from platoons.simulate import RunResult, simulate

__all__ = ["RunResult", "apply_changes", "load_scenario", "simulate"]
