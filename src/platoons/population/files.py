"""The user's own areas and providers, read from CSV files named in a scenario.

    world.areas_file       area, region, then referrals per month: one `referrals_<group>` column per
                           need group (or one `referrals_per_month` column split by the groups' shares);
                           an optional `year` column (1, 2, ...) gives a row per area and year
    sector.providers_file  name, kind, turnover_gbp, home_area; optionally reserves_gbp, areas_served
                           (blank: its home area; `region`; `all`; or areas separated by `;`),
                           effectiveness_<group>, management_capacity, overhead_rate

Both are read when the scenario is loaded and written into it (world.regions, sector.providers),
so a stored scenario is complete without the files. A missing optional column falls back to the
default of the provider's kind (its band in sector.bands), named in a warning on stderr. A bad
row is one InputError naming the file, line and column.
"""

from __future__ import annotations

import csv
import io
import math
import sys
from pathlib import Path
from typing import Any

from platoons.errors import InputError

MAX_CSV_BYTES = 16 * 1024 * 1024  # a national list of providers is about a megabyte; far more is a mistake
KIND_NAMES = ("national_firm", "regional_firm", "major_charity", "large_charity", "medium_charity",
              "small_charity", "community_group", "public_body")


def expand_files(data: dict[str, Any], directory: Path) -> dict[str, Any]:
    """Scenario data with world.areas_file and sector.providers_file read into world.regions and sector.providers."""
    world, sector = data.get("world") or {}, data.get("sector") or {}
    groups = [g.get("name") for g in world.get("need_groups") or [] if isinstance(g, dict)]
    if isinstance(world, dict) and world.get("areas_file"):
        world["regions"] = read_areas(directory / str(world["areas_file"]), groups, str(world["areas_file"]))
    if isinstance(sector, dict) and sector.get("providers_file"):
        areas = {a["name"]: r["name"] for r in world.get("regions") or [] for a in r.get("areas") or []}
        sector["providers"] = read_providers(directory / str(sector["providers_file"]), groups, areas,
                                             sector.get("bands") or [], str(sector["providers_file"]))
    return data


def read_rows(path: Path, source: str, required: tuple[str, ...]) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and (line, row) pairs of a UTF-8 CSV file that has the `required` columns."""
    if not path.is_file():  # a folder, a device or a pipe (which would block the read)
        raise InputError(source, "file", "an existing regular CSV file", str(path))
    try:
        with path.open("rb") as stream:
            raw = stream.read(MAX_CSV_BYTES + 1)
    except OSError as error:
        raise InputError(source, "file", "a readable CSV file", error.strerror or str(error)) from None
    if len(raw) > MAX_CSV_BYTES:
        raise InputError(source, "file", f"at most {MAX_CSV_BYTES // 1024 // 1024} MiB", "a larger file")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputError(source, "encoding", "UTF-8 text (save the file as CSV UTF-8)",
                         f"byte 0x{raw[error.start]:02x}", line) from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in reader.fieldnames or []]
    if not header:
        raise InputError(source, "header", "a header row naming the columns", "an empty file")
    reader.fieldnames = header
    missing = [c for c in required if c not in header]
    if missing:
        raise InputError(source, f"column {missing[0]}", f"a column named {missing[0]} (required: {', '.join(required)})",
                         ", ".join(header), 1)
    rows = []
    for row in reader:
        if None in row:
            raise InputError(source, "row", f"{len(header)} cells, as many as the header", len(header) + len(row[None]), reader.line_num)
        rows.append((reader.line_num, {k: (v or "").strip() for k, v in row.items()}))
    if not rows:
        raise InputError(source, "rows", "at least one row below the header", "none")
    return header, rows


def number(source: str, line: int, column: str, text: str, minimum: float = 0.0, maximum: float = math.inf) -> float:
    try:
        value = float(text.replace(",", ""))
    except ValueError:
        raise InputError(source, column, "a number", text, line) from None
    if not (minimum <= value <= maximum) or not math.isfinite(value):
        bounds = f">= {minimum:g}" if maximum == math.inf else f"between {minimum:g} and {maximum:g}"
        raise InputError(source, column, f"a number {bounds}", text, line)
    return value


def read_areas(path: Path, groups: list[str], source: str) -> list[dict[str, Any]]:
    """world.regions from an areas file, in the order areas first appear."""
    header, rows = read_rows(path, source, ("area", "region"))
    by_group = [f"referrals_{g}" for g in groups]
    unknown = [c for c in header if c.startswith("referrals_") and c not in by_group and c != "referrals_per_month"]
    if unknown:
        raise InputError(source, f"column {unknown[0]}", f"referrals_<need group> for a need group of the scenario ({', '.join(groups)})", unknown[0], 1)
    split = [c for c in by_group if c in header]
    if split and len(split) < len(groups):
        lacking = next(c for c in by_group if c not in header)
        raise InputError(source, f"column {lacking}", "a referrals column for every need group, or referrals_per_month", "missing", 1)
    if not split and "referrals_per_month" not in header:
        raise InputError(source, "column referrals_per_month", f"referrals_per_month or referrals_<group> columns ({', '.join(by_group)})", ", ".join(header), 1)
    years = "year" in header
    areas: dict[str, dict[str, Any]] = {}
    for line, row in rows:
        name, region = row["area"], row["region"]
        if not name or not region:
            raise InputError(source, "area" if not name else "region", "a name", "", line)
        year = int(number(source, line, "year", row["year"], 1, 100)) if years else 1
        area = areas.setdefault(name, {"region": region, "years": {}, "line": line})
        if area["region"] != region:
            raise InputError(source, "region", f"{area['region']!r}, as on line {area['line']} for area {name}", region, line)
        if year in area["years"]:
            raise InputError(source, "area", "each area once" + (" per year" if years else ""), name, line)
        if split:
            area["years"][year] = {g: number(source, line, c, row[c]) for g, c in zip(groups, split)}
        else:
            area["years"][year] = number(source, line, "referrals_per_month", row["referrals_per_month"])
    regions: dict[str, list[dict[str, Any]]] = {}
    for name, area in areas.items():
        ordered = [area["years"][y] for y in sorted(area["years"])]
        if sorted(area["years"]) != list(range(1, len(ordered) + 1)):
            raise InputError(source, "year", f"years 1 to {len(ordered)} for area {name}, without gaps", sorted(area["years"]), area["line"])
        if split:
            entry = {"name": name, "referrals_per_month": sum(ordered[0].values()), "referrals_by_group": ordered}
        else:
            entry = {"name": name, "referrals_per_month": ordered[0]}
            if len(ordered) > 1:
                raise InputError(source, "year", "referrals_<group> columns when the file gives several years", "referrals_per_month", area["line"])
        regions.setdefault(area["region"], []).append(entry)
    return [{"name": region, "areas": members} for region, members in regions.items()]


def read_providers(path: Path, groups: list[str], area_region: dict[str, str], bands: list[dict], source: str) -> list[dict[str, Any]]:
    """sector.providers from a providers file; missing optional columns come from the kind's band."""
    header, rows = read_rows(path, source, ("name", "kind", "turnover_gbp", "home_area"))
    band_of = {}
    for band in bands:
        if isinstance(band, dict):
            band_of.setdefault(band.get("kind"), band)
    effect_columns = [f"effectiveness_{g}" for g in groups]
    unknown = [c for c in header if c.startswith("effectiveness_") and c not in effect_columns]
    if unknown:
        raise InputError(source, f"column {unknown[0]}", f"effectiveness_<need group> for a need group of the scenario ({', '.join(groups)})", unknown[0], 1)
    defaults = [c for c in ("reserves_gbp", "management_capacity", "overhead_rate", *effect_columns) if c not in header]
    seen: dict[str, int] = {}
    providers = []
    for line, row in rows:
        name, kind = row["name"], row["kind"]
        if not name:
            raise InputError(source, "name", "a name", "", line)
        if name in seen:
            raise InputError(source, "name", f"a name not used before (line {seen[name]} has it)", name, line)
        seen[name] = line
        if kind not in KIND_NAMES:
            raise InputError(source, "kind", f"one of {', '.join(KIND_NAMES)}", kind, line)
        if row["home_area"] not in area_region:
            raise InputError(source, "home_area", f"an area of the scenario ({', '.join(area_region)})", row["home_area"], line)
        turnover = number(source, line, "turnover_gbp", row["turnover_gbp"])
        if turnover <= 0:
            raise InputError(source, "turnover_gbp", "a number > 0", row["turnover_gbp"], line)
        band = band_of.get(kind)
        if band is None and defaults:
            raise InputError(source, f"column {defaults[0]}", f"given, or a band of kind {kind} in sector.bands for its default", "missing", line)
        band = band or {}
        provider = {
            "name": name, "kind": kind, "turnover_gbp": turnover, "home_area": row["home_area"],
            "reach": _reach(source, line, row.get("areas_served", ""), row["home_area"], area_region),
            "reserves_gbp": (number(source, line, "reserves_gbp", row["reserves_gbp"]) if "reserves_gbp" in header
                             else band.get("reserves_months", 3.0) / 12 * turnover),
            "management_capacity": (number(source, line, "management_capacity", row["management_capacity"], 0, 1)
                                    if "management_capacity" in header else band.get("management_capacity", 0.5)),
            "overhead_rate": (number(source, line, "overhead_rate", row["overhead_rate"], 0, 2) if "overhead_rate" in header
                              else band.get("overhead_rate", 0.15)),
            "effectiveness": {g: (number(source, line, c, row[c], 0, 1) if c in header else band.get("effectiveness", {}).get(g, 0.0))
                              for g, c in zip(groups, effect_columns)},
        }
        if "staff_turnover" in band:
            provider["staff_turnover"] = band["staff_turnover"]
        providers.append(provider)
    if defaults:  # said once the file is known to be good, so a bad file still gets one line
        print(f"{source}: warning: no column {', '.join(defaults)}; using the defaults of each provider's kind "
              "(its band in sector.bands)", file=sys.stderr)
    return providers


def provided_fields(path: Path, source: str) -> set[str]:
    """The sector.providers fields a providers file gives itself (the rest come from the bands)."""
    header, _ = read_rows(path, source, ("name", "kind", "turnover_gbp", "home_area"))
    given = {"name", "kind", "turnover_gbp", "home_area", "reach"}
    given |= {c for c in ("reserves_gbp", "management_capacity", "overhead_rate") if c in header}
    if any(c.startswith("effectiveness_") for c in header):
        given.add("effectiveness")
    return given


def _reach(source: str, line: int, served: str, home: str, area_region: dict[str, str]) -> str:
    """Where a provider delivers, as the engine's reach: its home area, its region, or everywhere.

    A list of areas becomes the smallest reach that covers them all."""
    text = served.strip()
    if text in ("", home):
        return "area"
    if text.lower() == "region":
        return "region"
    if text.lower() in ("all", "national", "everywhere"):
        return "national"
    listed = [a.strip() for a in text.split(";") if a.strip()]
    unknown = [a for a in listed if a not in area_region]
    if unknown:
        raise InputError(source, "areas_served", "blank, region, all, or areas of the scenario separated by ;", unknown[0], line)
    if set(listed) <= {home}:
        return "area"
    return "region" if {area_region[a] for a in listed} <= {area_region[home]} else "national"
