"""The lots a design lets: which areas each covers and what it is expected to receive."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from platoons.population import World
from platoons.scenario.schema import Scenario


@dataclass(frozen=True)
class LotBook:
    names: tuple[str, ...]
    area_share: np.ndarray  # [lot, area] share of the area's referrals the lot receives
    referrals: np.ndarray  # [lot, group] expected monthly referrals
    region: np.ndarray  # [lot] region index, or -1 when the lot spans regions
    set_aside: np.ndarray  # [lot] reserved for small providers

    def __len__(self) -> int:
        return len(self.names)


def build_lots(scenario: Scenario, world: World) -> LotBook:
    plan = scenario.design.lots
    n_areas = len(world.area_names)
    if plan.structure == "national":
        specs = [("national", np.arange(n_areas), 1.0, False)]
    elif plan.structure == "regional":
        specs = [(name, np.flatnonzero(world.area_region == r), 1.0, False) for r, name in enumerate(world.region_names)]
    elif plan.structure == "area" and plan.lots_per_area == 1:
        specs = [(name, np.array([a]), 1.0, False) for a, name in enumerate(world.area_names)]
    elif plan.structure == "area":
        k = plan.lots_per_area
        specs = [(f"{name}-{i + 1}", np.array([a]), 1.0 / k, False) for a, name in enumerate(world.area_names) for i in range(k)]
    else:
        index = {name: a for a, name in enumerate(world.area_names)}
        specs = [
            (lot.name, np.array([index[a] for a in lot.areas]), lot.referral_share, lot.set_aside) for lot in plan.explicit
        ]
    share = np.zeros((len(specs), n_areas))
    for i, (_, areas, lot_share, _) in enumerate(specs):
        share[i, areas] = lot_share
    set_aside = np.array([flag for *_, flag in specs], dtype=bool)
    set_aside |= _spread_set_asides(len(specs), plan.set_aside_share)
    regions = [np.unique(world.area_region[areas]) for _, areas, _, _ in specs]
    return LotBook(
        names=tuple(name for name, *_ in specs),
        area_share=share,
        referrals=share @ world.referrals_per_month,
        region=np.array([r[0] if len(r) == 1 else -1 for r in regions], dtype=np.int64),
        set_aside=set_aside,
    )


def _spread_set_asides(n_lots: int, share: float) -> np.ndarray:
    """Reserve round(share x lots) lots, spread evenly through the list so no region gets them all."""
    count = int(round(share * n_lots))
    flags = np.zeros(n_lots, dtype=bool)
    if count:
        flags[np.floor(np.arange(count) * n_lots / count).astype(np.int64)] = True
    return flags
