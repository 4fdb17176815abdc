"""Small scenarios for tests whose answers can be reasoned out by hand."""

from platoons import apply_changes, load_scenario


def small(changes=None, **design):
    """Two regions of two areas, the default sector scaled down, 36 months."""
    base = load_scenario("default")
    data = base.model_dump(mode="json")
    data["world"]["regions"] = [
        {"name": "R1", "areas": [{"name": "A1", "referrals_per_month": 60}, {"name": "A2", "referrals_per_month": 40}]},
        {"name": "R2", "areas": [{"name": "B1", "referrals_per_month": 50}, {"name": "B2", "referrals_per_month": 50}]},
    ]
    for band in data["sector"]["bands"]:
        band["count"] = max(1, band["count"] // 8)
    data["run"]["months"] = 36
    data["design"]["contract"]["length_months"] = 24
    from platoons.scenario.schema import Scenario

    scenario = Scenario.model_validate(data)
    return apply_changes(scenario, {**(changes or {}), **design})
