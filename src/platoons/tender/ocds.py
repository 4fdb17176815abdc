"""The award as an Open Contracting Data Standard (OCDS 1.1) release package.

One release, tagged ``award``: the tender with its lots (reserve prices as lot values), every
bidder as a party (``tenderer``; winners also ``supplier``; ``details.scale`` is ``sme`` for small
bidders and ``large`` otherwise), and one award per winning bid, with its supplier, its value
(the bid's price, not the quality-adjusted one) and the lots it covers as ``relatedLots``.
The package declares the lots and party scale extensions it uses. The release id is the ocid,
``-award-`` and the publication time to the microsecond, so each publication is a new release.
Lots left unawarded have status ``unsuccessful`` and the reason as their description; a
set-aside lot says so in its description.

The ``ocid`` should start with the publisher's registered OCDS prefix; it comes from the rules
file (``ocid``), else a placeholder ``ocds-unregistered-<name>`` is used.
"""

from __future__ import annotations

from datetime import datetime

from platoons.tender.award import Award
from platoons.tender.files import SMALL, Tender

OCDS_VERSION = "1.1"
# In OCDS 1.1, tender lots and awards' relatedLots come from the lots extension.
LOTS_EXTENSION = "https://raw.githubusercontent.com/open-contracting-extensions/ocds_lots_extension/v1.1.5/extension.json"
# parties' details.scale ("sme" | "large") comes from the party scale extension.
SCALE_EXTENSION = (
    "https://raw.githubusercontent.com/open-contracting-extensions/ocds_partyDetails_scale_extension/master/extension.json"
)
CURRENCY = "GBP"


def release_package(tender: Tender, result: Award, *, ocid: str, published: datetime, uri: str) -> dict:
    """A JSON-ready OCDS release package describing ``result``."""
    date = published.isoformat(timespec="seconds")
    bid_by_id = {bid.bid_id: bid for bid in tender.bids}
    winners = {bid_by_id[bid_id].bidder_id for bid_id in result.winning_bids}
    bidder_ids = list(dict.fromkeys(bid.bidder_id for bid in tender.bids))
    reasons = {entry.lot_id: entry.reason for entry in result.unawarded}

    def party(bidder_id: str) -> dict:
        roles = ["tenderer", "supplier"] if bidder_id in winners else ["tenderer"]
        scale = "sme" if tender.size_of(bidder_id) == SMALL else "large"
        return {"id": bidder_id, "name": bidder_id, "roles": roles, "details": {"scale": scale}}

    lots = []
    for lot in tender.lots:
        entry = {"id": lot.lot_id, "value": _money(lot.reserve_price)}
        notes = ["set aside for small bidders"] if lot.set_aside else []
        if lot.lot_id in reasons:
            entry["status"] = "unsuccessful"
            notes.append(f"not awarded: {reasons[lot.lot_id]}")
        else:
            entry["status"] = "active"
        if notes:
            entry["description"] = "; ".join(notes)
        lots.append(entry)

    awards = []
    for bid_id in result.winning_bids:
        bid = bid_by_id[bid_id]
        awards.append(
            {
                "id": bid.bid_id,
                "status": "active",
                "date": date,
                "value": _money(bid.price),
                "suppliers": [{"id": bid.bidder_id, "name": bid.bidder_id}],
                "relatedLots": list(bid.lots),
            }
        )

    release = {
        "ocid": ocid,
        # A release id is unique within its ocid: each publication of the award is a new release.
        "id": f"{ocid}-award-{published.strftime('%Y%m%dT%H%M%S%fZ')}",
        "date": date,
        "tag": ["award"],
        "initiationType": "tender",
        "language": "en",
        "parties": [party(bidder_id) for bidder_id in bidder_ids],
        "tender": {
            "id": ocid,
            "status": "complete",
            "value": _money(sum(lot.reserve_price for lot in tender.lots)),
            "numberOfTenderers": len(bidder_ids),
            "tenderers": [{"id": bidder_id, "name": bidder_id} for bidder_id in bidder_ids],
            "lots": lots,
        },
        "awards": awards,
    }
    return {
        "uri": uri,
        "version": OCDS_VERSION,
        "extensions": [LOTS_EXTENSION, SCALE_EXTENSION],
        "publishedDate": date,
        "publisher": {"name": tender.publisher or "platoons"},
        "releases": [release],
    }


def _money(amount: float) -> dict:
    return {"amount": round(amount, 2), "currency": CURRENCY}
