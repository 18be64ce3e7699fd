"""Monte Carlo bands: which deals close in which period, drawn many times.

Each draw decides every deal on its own: the deal closes won in period ``k``
with the probability the forecast gave it for that period, or not within the
forecast at all. A draw's total for a group is the exact sum of the amounts (in
minor units) of the group's deals that closed won, so every band is an amount
some draw actually produced and, draw by draw, partners add up to their tier and
to the total.

One random number decides a deal in a draw: a uniform whole number ``u`` from 0
to 2¹⁵ - 1. The deal's cumulative period chances are rounded to multiples of
2⁻¹⁵ (cut points ``c_0 <= c_1 <= ...``) and it closes in the first period ``k``
with ``u < c_k``. Both engines use exactly this rule, so they draw from the same
distribution; they consume random numbers in different orders, so the same seed
gives the same bands only within one engine.

The numpy engine (the ``fast`` extra) lays the draws out as rows and the deals
as columns, packs eight deals' yes/no outcomes into a byte and looks the byte's
sum up in a table of the eight deals' 256 subset sums, which turns 8 additions
into one lookup. Deals are sorted by partner and each partner's deals padded to
a multiple of eight with zero-value deals, so a byte never mixes partners. Sums
are float64 holding whole minor units, exact below 2⁵³ minor units.
"""

from __future__ import annotations

import random
from bisect import bisect_right
from typing import TYPE_CHECKING, Any, Final, NamedTuple

from partnerkit.errors import ValidationError

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["BITS", "SCALE", "Bands", "numpy_available", "quantile_ranks", "simulate"]

#: Bits of the uniform number that decides one deal in one draw.
BITS: Final = 15
#: Period chances are rounded to multiples of ``1 / SCALE``.
SCALE: Final = 1 << BITS
#: The percentiles every band reports.
PERCENTILES: Final = (10, 50, 90)
_EXACT_LIMIT: Final = 1 << 53
_CHUNK: Final = 2048  # deals (columns) per block of work: D x 2048 uint16 is 40 MB at 10,000 draws

#: (dimension, group index, period) -> (p10, p50, p90) in minor units.
Bands = dict[tuple[str, int, int], tuple[int, int, int]]


def numpy_available() -> bool:
    """Whether numpy (the ``fast`` extra) can be imported."""
    try:
        import numpy  # noqa: F401, PLC0415 - optional
    except ImportError:  # pragma: no cover - the test environment has numpy
        return False
    return True


def quantile_ranks(draws: int) -> tuple[int, ...]:
    """The 0-based positions, in the sorted draws, of the nearest-rank percentiles."""
    return tuple(max(0, (pct * draws + 99) // 100 - 1) for pct in PERCENTILES)


def cut_points(chances: Sequence[float]) -> tuple[int, ...]:
    """A deal's cumulative period chances as cut points on ``0..SCALE``."""
    total = 0.0
    cuts = []
    for chance in chances:
        total += chance
        cuts.append(min(SCALE, max(0, round(total * SCALE))))
    # Rounding never makes the cut points decrease: each is the rounding of a larger sum.
    return tuple(cuts)


class _Run(NamedTuple):
    """What both engines draw from: the arguments of `simulate`."""

    units: Sequence[int]
    cuts: Sequence[Sequence[int]]
    partner_of: Sequence[int]
    tier_of_partner: Sequence[int]
    product_slots: Sequence[tuple[int, int, int]]
    periods: int
    counts: tuple[int, int, int]
    draws: int
    seed: int


def simulate(
    units: Sequence[int],
    cuts: Sequence[Sequence[int]],
    partner_of: Sequence[int],
    tier_of_partner: Sequence[int],
    product_slots: Sequence[tuple[int, int, int]],
    *,
    periods: int,
    counts: tuple[int, int, int],
    draws: int,
    seed: int,
    engine: str,
) -> Bands:
    """Draw every deal's outcome ``draws`` times; the bands of every group and period.

    Args:
        units: Each deal's amount in minor units.
        cuts: Each deal's cut points, one per period.
        partner_of: Each deal's partner index.
        tier_of_partner: Each partner's tier index.
        product_slots: ``(deal, product index, minor units)`` for each product of a deal.
        periods: How many periods.
        counts: How many partners, tiers and products.
        draws: How many draws.
        seed: The seed.
        engine: ``"numpy"`` or ``"python"``.

    Raises:
        ValidationError: If the amounts are too large to add exactly in float64.
    """
    if engine == "numpy" and sum(units) >= _EXACT_LIMIT:
        raise ValidationError.single(
            "amounts",
            "the open deals add up to more than 2**53 minor units; use engine='python'",
        )
    run = _Run(
        units, cuts, partner_of, tier_of_partner, product_slots, periods, counts, draws, seed
    )
    return _simulate_numpy(run) if engine == "numpy" else _simulate_python(run)


def _bands_of(values: list[int], ranks: tuple[int, ...]) -> tuple[int, int, int]:
    ordered = sorted(values)
    low, mid, high = (ordered[rank] for rank in ranks)
    return low, mid, high


def _simulate_python(run: _Run) -> Bands:
    units, cuts, partner_of, tier_of_partner, product_slots, periods, counts, draws, seed = run
    n_partners, n_tiers, n_products = counts
    rng = random.Random(seed)  # noqa: S311 - simulation, not security
    bits = rng.getrandbits
    partner_sums = [[[0] * draws for _ in range(n_partners)] for _ in range(periods)]
    product_sums = [[[0] * draws for _ in range(n_products)] for _ in range(periods)]
    products_of: list[list[tuple[int, int]]] = [[] for _ in units]
    for deal, product, share in product_slots:
        products_of[deal].append((product, share))
    deals = [
        (tuple(cuts[i]), units[i], partner_of[i], products_of[i])
        for i in range(len(units))
        if units[i] and cut_any(cuts[i])
    ]
    for draw in range(draws):
        for deal_cuts, amount, partner, products in deals:
            period = bisect_right(deal_cuts, bits(BITS))
            if period < periods:
                partner_sums[period][partner][draw] += amount
                for product, share in products:
                    product_sums[period][product][draw] += share
    ranks = quantile_ranks(draws)
    bands: Bands = {}
    for period in range(periods):
        total = [0] * draws
        tiers = [[0] * draws for _ in range(n_tiers)]
        for partner, sums in enumerate(partner_sums[period]):
            bands["partner", partner, period] = _bands_of(sums, ranks)
            tier = tiers[tier_of_partner[partner]]
            for draw, value in enumerate(sums):
                tier[draw] += value
                total[draw] += value
        for tier_index, sums in enumerate(tiers):
            bands["tier", tier_index, period] = _bands_of(sums, ranks)
        for product, sums in enumerate(product_sums[period]):
            bands["product", product, period] = _bands_of(sums, ranks)
        bands["total", 0, period] = _bands_of(total, ranks)
    return bands


def cut_any(cuts: Sequence[int]) -> bool:
    """Whether a deal with these cut points can close within the forecast at all."""
    return bool(cuts) and cuts[-1] > 0


def _simulate_numpy(run: _Run) -> Bands:  # noqa: PLR0915 - one pass over the columns
    import numpy as np  # noqa: PLC0415 - the optional fast extra

    units, cuts, partner_of, tier_of_partner, product_slots, periods, counts, draws, seed = run
    n_partners, n_tiers, n_products = counts
    ranks = np.array(quantile_ranks(draws))
    bit_generator = np.random.PCG64(seed)
    # Columns: deals sorted by partner, each partner padded to a multiple of 8.
    # Within a partner, deals selling the same product sit side by side, so most
    # blocks of eight hold one product and a product's sums read fewer blocks.
    first_product = [n_products] * len(units)
    for deal, product, _ in product_slots:
        first_product[deal] = min(first_product[deal], product)
    order = sorted(range(len(units)), key=lambda i: (partner_of[i], first_product[i]))
    columns: list[int] = []  # deal index, or -1 for padding
    column_partner: list[int] = []
    index = 0
    while index < len(order):
        partner = partner_of[order[index]]
        end = index
        while end < len(order) and partner_of[order[end]] == partner:
            end += 1
        members = order[index:end]
        padding = -len(members) % 8
        columns += members + [-1] * padding
        column_partner += [partner] * (len(members) + padding)
        index = end
    width = len(columns)
    unit_array = np.array([units[i] if i >= 0 else 0 for i in columns], dtype=np.float64)
    cut_array = np.zeros((periods, width), dtype=np.uint16)
    for column, deal in enumerate(columns):
        if deal >= 0:
            cut_array[:, column] = cuts[deal]
    partner_array = np.array(column_partner, dtype=np.int64)
    column_of = {deal: column for column, deal in enumerate(columns) if deal >= 0}
    # Per chunk and product: the blocks holding the product's deals, with each
    # column's share of the product (0 for the block's other columns).
    shares: dict[int, dict[int, dict[int, list[int]]]] = {}
    for deal, product, share in product_slots:
        column = column_of[deal]
        local = column % _CHUNK
        blocks = shares.setdefault(column // _CHUNK, {}).setdefault(product, {})
        blocks.setdefault(local // 8, [0] * 8)[local % 8] = share
    subset = ((np.arange(256)[:, None] >> np.arange(8)) & 1).astype(np.float64)  # 256 x 8

    def lookup(packed: Any, values: Any) -> Any:
        """Per draw and block, the sum of the block's ``values`` whose deal closed."""
        tables = (values @ subset.T).ravel()  # block b's 256 subset sums start at b * 256
        offsets = np.arange(values.shape[0], dtype=np.int64) * 256
        return tables[packed + offsets[None, :]]

    bands: Bands = {}
    tier_index = np.array(tier_of_partner, dtype=np.int64)
    tier_sums = np.zeros((periods, draws, n_tiers))
    product_sums = np.zeros((periods, draws, n_products))
    totals = np.zeros((periods, draws))
    carry = np.zeros((periods, draws))
    carried = -1

    def band(sums: Any) -> tuple[int, int, int]:
        low, mid, high = np.partition(sums, ranks)[ranks]
        return int(low), int(mid), int(high)

    def finish(partner: int, period: int, sums: Any) -> None:
        bands["partner", partner, period] = band(sums)
        tier_sums[period, :, tier_index[partner]] += sums
        totals[period] += sums

    for start in range(0, width, _CHUNK):
        stop = min(width, start + _CHUNK)
        # Four 16-bit lanes per 64-bit output, each shifted down to 15 uniform bits.
        raw = bit_generator.random_raw(draws * (stop - start) // 4).view(np.uint16)
        draw_values = raw.reshape(draws, stop - start) >> np.uint16(16 - BITS)
        block_partner = partner_array[start:stop:8]
        starts = np.flatnonzero(np.r_[True, block_partner[1:] != block_partner[:-1]])
        owners = block_partner[starts]
        continues = stop < width and partner_array[stop] == owners[-1]
        chunk_products = [
            (
                product,
                np.array(list(blocks), dtype=np.int64),
                np.array(list(blocks.values()), dtype=np.float64),
            )
            for product, blocks in shares.get(start // _CHUNK, {}).items()
        ]
        values = unit_array[start:stop].reshape(-1, 8)
        for period in range(periods):
            hit = draw_values < cut_array[period, start:stop][None, :]
            if period:
                hit &= draw_values >= cut_array[period - 1, start:stop][None, :]
            packed = np.packbits(hit, axis=1, bitorder="little")
            sums = np.add.reduceat(lookup(packed, values), starts, axis=1)
            for segment, owner in enumerate(owners.tolist()):
                column_sums = sums[:, segment]
                if segment == 0 and carried == owner:
                    column_sums = column_sums + carry[period]
                if segment == len(owners) - 1 and continues:
                    carry[period] = column_sums
                else:
                    finish(owner, period, column_sums)
            for product, block_index, product_values in chunk_products:
                found = lookup(packed[:, block_index], product_values).sum(axis=1)
                product_sums[period, :, product] += found
        carried = int(owners[-1]) if continues else -1
    for period in range(periods):
        for tier in range(n_tiers):
            bands["tier", tier, period] = band(tier_sums[period, :, tier])
        for product in range(n_products):
            bands["product", product, period] = band(product_sums[period, :, product])
        bands["total", 0, period] = band(totals[period])
    for partner in range(n_partners):
        for period in range(periods):
            bands.setdefault(("partner", partner, period), (0, 0, 0))
    return bands
