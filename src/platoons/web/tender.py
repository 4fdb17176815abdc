"""The tender tool over the web: the files `platoons tender` reads, uploaded, and the award it gives."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from platoons.web.scenarios import ClientError, client_files, safe_file_name

DEFAULT_NAMES = {"lots": "lots.csv", "bids": "bids.csv", "bidders": "bidders.csv", "rules": "rules.yaml"}


def award_tender(uploads: dict[str, tuple[str | None, bytes]], settings: dict[str, Any], uri: str) -> dict[str, Any]:
    """Award the uploaded tender: its table, the unawarded lots with reasons, the award CSV and the OCDS release.

    `uploads` maps lots, bids and optionally bidders and rules to (client file name, content);
    `settings` holds the rules given in the form (quality_weight, default_max_lots, time_limit_s), which beat
    the rules file.
    """
    from platoons.tender import award
    from platoons.tender.files import (award_csv, award_rows, check_lot_cap, check_quality_weight, check_time_limit,
                                       read_tender)
    from platoons.tender.ocds import release_package

    for needed in ("lots", "bids"):
        if needed not in uploads:
            raise ClientError(f"{needed}: a {needed} file (CSV or JSON) is required (got none)", needed)
    files = {key: (safe_file_name(name, DEFAULT_NAMES[key]), content) for key, (name, content) in uploads.items()}
    if len({name for name, _ in files.values()}) < len(files):  # same client name twice: keep both files apart
        files = {key: (f"{key}-{name}", content) for key, (name, content) in files.items()}
    with client_files(files) as paths:
        overrides = {
            "quality_weight": _given(settings.get("quality_weight"), check_quality_weight, "quality_weight"),
            "time_limit_s": _given(settings.get("time_limit_s"), check_time_limit, "time_limit_s"),
            "default_max_lots": _given(settings.get("default_max_lots"), check_lot_cap, "default_max_lots"),
        }
        tender = read_tender(paths["lots"], paths["bids"], paths.get("bidders"), paths.get("rules"), overrides)
        result = award(tender.lots, tender.bids, tender.rules)
        package = release_package(tender, result, ocid=tender.ocid or f"ocds-unregistered-{paths['lots'].stem}",
                                  published=datetime.now(timezone.utc), uri=uri)
        return {
            "objective": round(result.objective, 6),
            "optimal": result.optimal,
            "gap": result.gap,
            "quality_weight": tender.rules.quality_weight,
            "lots": len(tender.lots),
            "awards": [{"lot": a.lot_id, "bid": a.bid_id, "bidder": a.bidder_id} for a in result.awards],
            "unawarded": [{"lot": u.lot_id, "reason": u.reason} for u in result.unawarded],
            "rows": award_rows(tender, result),
            "award_csv": award_csv(tender, result),
            "ocds": json.dumps(package, indent=2) + "\n",
            "solve_seconds": result.solve_seconds,
        }


def _given(value: Any, check, field: str) -> Any:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    return check(value, "form", field)
