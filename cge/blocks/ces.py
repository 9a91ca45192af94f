r"""CES building blocks in calibrated share form, with the exact Leontief and Cobb–Douglas limits.

With benchmark prices of 1 and benchmark value shares :math:`\theta_k` (summing to 1), the unit
cost of a CES aggregate with elasticity of substitution :math:`\sigma \ge 0` is

.. math::
    c = \Big(\sum_k \theta_k\, p_k^{1-\sigma}\Big)^{1/(1-\sigma)}, \qquad
    \sigma = 1:\; c = \prod_k p_k^{\theta_k}, \qquad \sigma = 0:\; c = \sum_k \theta_k p_k ,

and, by Shephard's lemma, the demand for input k per unit of the aggregate, relative to its
benchmark, is :math:`(c / p_k)^{\sigma}` (1 under Leontief). A CET revenue function with
elasticity of transformation :math:`\sigma_T` is the same formula with :math:`1-\sigma` replaced
by :math:`1+\sigma_T`, and supply per unit of output :math:`(p_k / R)^{\sigma_T}`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyomo.environ import prod


def ces_price(shares: Sequence[float], prices: Sequence, sigma: float):
    """Unit cost (price index) of a CES aggregate; exact forms for σ = 0 and σ = 1."""
    pairs = [(t, p) for t, p in zip(shares, prices, strict=True) if t > 0]
    if len(pairs) == 1:
        return pairs[0][1]
    if sigma == 0:
        return sum(t * p for t, p in pairs)
    if sigma == 1:
        return prod(p ** t for t, p in pairs)
    rho = 1.0 - sigma
    return sum(t * p ** rho for t, p in pairs) ** (1.0 / rho)


def cet_price(shares: Sequence[float], prices: Sequence, sigma_t: float):
    """Unit revenue of a CET transformation with elasticity σ_T > 0."""
    pairs = [(t, p) for t, p in zip(shares, prices, strict=True) if t > 0]
    if len(pairs) == 1:
        return pairs[0][1]
    rho = 1.0 + sigma_t
    return sum(t * p ** rho for t, p in pairs) ** (1.0 / rho)


def demand_index(unit_cost, price, sigma: float):
    """Compensated demand per unit of activity, relative to benchmark: (c/p)^σ (1 if σ = 0)."""
    if sigma == 0:
        return 1.0
    if sigma == 1:
        return unit_cost / price
    return (unit_cost / price) ** sigma
