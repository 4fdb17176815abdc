"""`platoons tender`: award a real tender from its files."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

import typer

from platoons.errors import InputError


def tender(
    lots: Optional[Path] = typer.Option(None, "--lots", help="Lots: CSV or JSON with lot_id, reserve_price[, set_aside]."),
    bids: Optional[Path] = typer.Option(
        None, "--bids", help="Bids: CSV or JSON with bid_id, bidder_id, lots, price, quality[, xor_group]."
    ),
    bidders: Optional[Path] = typer.Option(
        None, "--bidders", help="Bidders: CSV or JSON with bidder_id, size (small|large)[, max_lots]."
    ),
    cats: Optional[Path] = typer.Option(
        None, "--cats", help="A Combinatorial Auction Test Suite instance, instead of --lots and --bids."
    ),
    cats_dummy: str = typer.Option("xor", "--cats-dummy", help="CATS dummy goods as XOR groups (xor) or lots (lots)."),
    quality_weight: Optional[float] = typer.Option(
        None, "--quality-weight", help="W in [0, 1]: a bid scores price x (1 - W x quality). Default 0.3."
    ),
    rules: Optional[Path] = typer.Option(
        None, "--rules", help="YAML or JSON: quality_weight, default_max_lots, time_limit_s, ocid, publisher."
    ),
    time_limit: Optional[float] = typer.Option(
        None, "--time-limit", help="Stop the search after this many seconds and report the gap."
    ),
    solver: str = typer.Option(
        "highs", "--solver", help="highs, cpsat (needs the solvers extra) or race (both; the first proven optimum)."
    ),
    out: Optional[Path] = typer.Option(None, "--out", help="Write the award, one row per lot, as CSV."),
    as_json: bool = typer.Option(False, "--json", help="Print the award as JSON instead of a table."),
    ocds: Optional[Path] = typer.Option(None, "--ocds", help="Write an OCDS 1.1 release package (JSON)."),
) -> None:
    """Award a tender exactly: the winning bids that give the most value for money."""
    from dataclasses import replace

    from platoons.tender import award
    from platoons.tender.files import (
        award_csv,
        check_outputs,
        check_quality_weight,
        check_time_limit,
        read_tender,
        write_atomically,
    )
    from platoons.tender.portfolio import check_solver

    overrides = {
        "quality_weight": None if quality_weight is None else check_quality_weight(quality_weight, "--quality-weight"),
        "time_limit_s": None if time_limit is None else check_time_limit(time_limit, "--time-limit"),
    }
    try:
        check_solver(solver)
    except ValueError as error:
        raise InputError("--solver", "solver", "highs, cpsat or race, with its package installed", solver,
                         message=str(error)) from None
    if cats is None and (lots is None or bids is None):
        raise InputError("--lots", "path", "--lots and --bids (or --cats)", "missing")
    if cats is not None and (lots is not None or bids is not None or bidders is not None):
        raise InputError("--cats", "path", "used without --lots, --bids and --bidders", "both")
    inputs = {"--lots": lots, "--bids": bids, "--bidders": bidders, "--rules": rules, "--cats": cats}
    targets = check_outputs({"--out": out, "--ocds": ocds}, inputs)

    if cats is not None:
        from platoons.tender import AwardRules
        from platoons.tender.award import DEFAULT_QUALITY_WEIGHT
        from platoons.tender.cats import read_cats
        from platoons.tender.files import read_rules

        settings = read_rules(rules) if rules is not None else {}
        settings.update({key: value for key, value in overrides.items() if value is not None})
        cats_rules = AwardRules(
            quality_weight=float(settings.get("quality_weight", DEFAULT_QUALITY_WEIGHT)),
            default_max_lots=settings.get("default_max_lots"),
            time_limit_s=settings.get("time_limit_s"),
        )
        chosen = replace(read_cats(cats, cats_dummy, cats_rules), ocid=settings.get("ocid"),
                         publisher=settings.get("publisher"))
    else:
        chosen = read_tender(lots, bids, bidders, rules, overrides)
    chosen = replace(chosen, rules=replace(chosen.rules, solver=solver))
    result = award(chosen.lots, chosen.bids, chosen.rules)

    outputs: dict[Path, str] = {}
    if out is not None:
        outputs[targets["--out"]] = award_csv(chosen, result)
    if ocds is not None:
        from platoons.tender.ocds import release_package

        package = release_package(
            chosen,
            result,
            ocid=chosen.ocid or f"ocds-unregistered-{(cats or lots).stem}",
            published=datetime.now(timezone.utc),
            uri=targets["--ocds"].as_uri(),
        )
        outputs[targets["--ocds"]] = json.dumps(package, indent=2, allow_nan=False) + "\n"
    write_atomically(outputs)

    if as_json:
        print(json.dumps(_as_json(result), indent=2, allow_nan=False))
    else:
        _print_table(chosen, result, [path for path in (out, ocds) if path is not None])


def _as_json(result) -> dict:
    return {
        "objective": round(result.objective, 6),
        "optimal": result.optimal,
        "gap": result.gap,
        "awards": [{"lot": a.lot_id, "bid": a.bid_id, "bidder": a.bidder_id} for a in result.awards],
        "unawarded": [{"lot": u.lot_id, "reason": u.reason} for u in result.unawarded],
        "winning_bids": list(result.winning_bids),
        "solve_seconds": result.solve_seconds,
    }


def _print_table(chosen, result, outputs: list[Path]) -> None:
    from rich.console import Console
    from rich.table import Table

    from platoons.tender.award import adjusted_price
    from platoons.tender.files import SMALL

    weight = chosen.rules.quality_weight
    bid_by_id = {bid.bid_id: bid for bid in chosen.bids}
    reserve = {lot.lot_id: lot.reserve_price for lot in chosen.lots}
    winning = [bid_by_id[bid_id] for bid_id in result.winning_bids]
    awarded = {entry.lot_id: entry for entry in result.awards}
    reasons = {entry.lot_id: entry.reason for entry in result.unawarded}

    table = Table(title=f"Award: {len(result.awards)} of {len(chosen.lots)} lots, quality weight {weight:g}")
    for name, justify in (
        ("lot", "left"),
        ("reserve", "right"),
        ("winner", "left"),
        ("bid", "left"),
        ("price", "right"),
        ("adjusted", "right"),
        ("note", "left"),
    ):
        table.add_column(name, justify=justify, no_wrap=name != "note")
    for lot in chosen.lots:
        entry = awarded.get(lot.lot_id)
        set_aside = "set aside; " if lot.set_aside else ""
        if entry is None:
            table.add_row(lot.lot_id, _gbp(lot.reserve_price), "-", "-", "", "", set_aside + reasons[lot.lot_id])
            continue
        bid = bid_by_id[entry.bid_id]
        note = set_aside + (f"package, {len(bid.lots)} lots" if len(bid.lots) > 1 else "")
        first = bid.lots[0] == lot.lot_id  # a package's price is shown once, on its first lot
        table.add_row(
            lot.lot_id,
            _gbp(lot.reserve_price),
            bid.bidder_id,
            bid.bid_id,
            _gbp(bid.price) if first else "(package)",
            _gbp(adjusted_price(bid, weight)) if first else "",
            note.rstrip("; "),
        )

    console = Console()
    console.print(table)
    price = sum(bid.price for bid in winning)
    adjusted = sum(adjusted_price(bid, weight) for bid in winning)
    reserve_awarded = sum(reserve[entry.lot_id] for entry in result.awards)
    small_price = sum(bid.price for bid in winning if chosen.size_of(bid.bidder_id) == SMALL)
    savings = reserve_awarded - price
    lines = [
        f"Total price of winning bids: {_gbp(price)} (adjusted for quality: {_gbp(adjusted)})",
        f"Reserve value of the lots awarded: {_gbp(reserve_awarded)}",
        f"Savings against reserves: {_gbp(savings)}" + (f" ({savings / reserve_awarded:.1%})" if reserve_awarded else ""),
        f"Total surplus (the objective): {_gbp(result.objective)}",
        "Lots per bidder: "
        + (", ".join(f"{bidder} {count}" for bidder, count in _lots_per_bidder(result).items()) or "none"),
        f"Share of value to small bidders: {small_price / price:.1%}" if price else "Share of value to small bidders: -",
        f"Solver: {'optimal' if result.optimal else 'not proven optimal'}, gap {result.gap:.2%}, "
        f"{result.solve_seconds:.3f} s",
    ]
    for path in outputs:
        lines.append(f"Written: {path}")
    for line in lines:
        console.print(line, highlight=False)


def _lots_per_bidder(result) -> dict[str, int]:
    return dict(sorted(Counter(entry.bidder_id for entry in result.awards).items()))


def _gbp(amount: float) -> str:
    """Pounds, with pence only when there are any."""
    return f"£{amount:,.0f}" if float(round(amount, 2)).is_integer() else f"£{amount:,.2f}"
