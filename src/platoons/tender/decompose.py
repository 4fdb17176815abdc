"""The award MILP as plain data, split into independent components.

Every constraint of the award is a row ``sum of coefficient x_b over its members <= upper``: one
per lot that two or more candidate bids name, one per XOR group with two or more candidates, and
one per capped bidder whose candidates could together exceed the cap (coefficients: package
sizes). Two bids interact only through a row they share, so the connected components of the
bids-and-rows graph are independent problems: the best award is the union of each component's
best award. Real tenders split this way (a bidder's local lots rarely touch another region's);
a bid that shares no row is a component of its own and wins without a solve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Model:
    """``maximise gains . x  s.t.  A x <= upper, x binary``, with A in compressed rows."""

    gains: np.ndarray  # [n] surplus of each candidate, > 0
    starts: np.ndarray  # [m + 1] row r's entries are starts[r]:starts[r + 1]
    index: np.ndarray  # [nnz] column of each entry
    value: np.ndarray  # [nnz] coefficient of each entry
    upper: np.ndarray  # [m] right-hand side of each row

    @property
    def n_rows(self) -> int:
        return len(self.upper)


@dataclass(frozen=True)
class Component:
    members: np.ndarray  # positions in the candidate list, ascending
    model: Model  # over the members, columns in the same order


def build_rows(
    groups: Sequence[Sequence[int]], capped: Sequence[tuple[Sequence[int], Sequence[float], float]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Rows in compressed form from set-packing ``groups`` (each <= 1) and ``capped`` knapsacks."""
    members = [list(group) for group in groups] + [list(row[0]) for row in capped]
    m = len(members)
    counts = np.fromiter((len(row) for row in members), dtype=np.int64, count=m)
    starts = np.zeros(m + 1, dtype=np.int64)
    np.cumsum(counts, out=starts[1:])
    nnz = int(starts[-1])
    index = np.fromiter((k for row in members for k in row), dtype=np.int64, count=nnz)
    value = np.ones(nnz, dtype=np.float64)
    for r, (_, sizes, _) in enumerate(capped, start=len(groups)):
        value[starts[r] : starts[r + 1]] = sizes
    upper = np.concatenate([np.ones(len(groups)), np.asarray([row[2] for row in capped], dtype=np.float64)])
    return starts, index, value, upper


def split(gains: np.ndarray, starts: np.ndarray, index: np.ndarray, value: np.ndarray, upper: np.ndarray,
          decompose: bool = True) -> list[Component]:
    """The independent components, ordered by their first member; one component when not ``decompose``."""
    n, m = len(gains), len(upper)
    if not decompose or m == 0:
        if not decompose:
            return [Component(np.arange(n), Model(gains, starts, index, value, upper))]
        return [Component(np.array([k]), _empty(gains[k : k + 1])) for k in range(n)]
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    entry_row = np.repeat(np.arange(m), np.diff(starts))
    # Nodes 0..n-1 are bids, n..n+m-1 rows; an edge joins a row to each of its members.
    graph = coo_matrix((np.ones(len(index)), (index, n + entry_row)), shape=(n + m, n + m))
    _, label = connected_components(graph, directed=False)
    bid_label, row_label = label[:n], label[n:]
    # Number the components by their first member, so they are solved in input order.
    first = {}
    for k, c in enumerate(bid_label.tolist()):
        first.setdefault(c, k)
    order = sorted(first, key=first.get)
    members_of = {c: [] for c in order}
    for k, c in enumerate(bid_label.tolist()):
        members_of[c].append(k)
    rows_of: dict[int, list[int]] = {c: [] for c in order}
    for r, c in enumerate(row_label.tolist()):
        rows_of[c].append(r)
    local = np.empty(n, dtype=np.int64)
    components = []
    for c in order:
        members = np.asarray(members_of[c], dtype=np.int64)
        rows = rows_of[c]
        if not rows:
            components.append(Component(members, _empty(gains[members])))
            continue
        local[members] = np.arange(len(members))
        spans = [np.arange(starts[r], starts[r + 1]) for r in rows]
        entries = np.concatenate(spans)
        sub_starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum([len(span) for span in spans], out=sub_starts[1:])
        model = Model(gains[members], sub_starts, local[index[entries]], value[entries], upper[rows])
        components.append(Component(members, model))
    return components


def _empty(gains: np.ndarray) -> Model:
    return Model(gains, np.zeros(1, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0), np.zeros(0))
