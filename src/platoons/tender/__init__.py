"""The tender tool: award real tenders exactly, from plain data.

``award(lots, bids, rules)`` is the one entry point; the market engine and the
``platoons tender`` command both call it.
"""

from platoons.tender.award import Award, AwardRules, Bid, Lot, LotAward, UnawardedLot, award

__all__ = ["Award", "AwardRules", "Bid", "Lot", "LotAward", "UnawardedLot", "award"]
