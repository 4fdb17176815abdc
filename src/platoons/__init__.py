"""Platoons: a lab for commissioning public services."""

__version__ = "0.1.0"
