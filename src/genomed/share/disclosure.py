"""How an answer below the controlled tier is drawn, and how much it discloses about each carrier.

A deterministic answer (``yes`` exactly when at least ``min_count`` donors carry the allele) gives
away, about a donor at the threshold, everything: without that donor the answer would certainly
have been ``no``. An attacker who knows the threshold asks about alleles whose count it expects
there, and every such answer is a coin weighted by the target's membership (see
:mod:`genomed.share.attack`). So near each edge (``min_count`` for a boolean, the bin edges of
:func:`count_bins` for a count) the answer is drawn at random, with a probability that rises
smoothly with the count::

    P(count released >= edge | c carriers) = F(slope x (c - edge)),  F the standard Laplace CDF,

so that one carrier more or less changes the probability of any answer by a factor of at most
``exp(slope)``: a bounded, measurable amount of evidence that :func:`evidence` computes and the
guard's donor ledger charges. Far above an edge the answer is practically certain and the
evidence practically nil, so common alleles cost their carriers nothing; far below, a "yes" is
rare (a fraction ``exp(-slope x distance) / 2``) but when given it is charged like any other.

The price of a bounded factor is that no count is certain, not even zero: an allele nobody
carries is answered "yes" a fraction ``exp(-slope x min_count) / 2`` of the time (1.6% with
slope ln 2 and min_count 5; 0.05% with min_count 10). A rule that never says "yes" below some
count has an infinite factor at that count, and a ledger charging it would have to leave out
every carrier there, which moves the infinite factor one count up, and so on.
"""

from __future__ import annotations

import math

SLOPE = math.log(2)  # nats of evidence one carrier can add to one answer, at most (the guard's default)


def laplace_cdf(x: float) -> float:
    """The standard Laplace distribution function.

    >>> laplace_cdf(0.0), round(laplace_cdf(1.0), 4), round(laplace_cdf(-1.0), 4)
    (0.5, 0.8161, 0.1839)
    """
    return 0.5 * math.exp(x) if x < 0 else 1.0 - 0.5 * math.exp(-x)


def laplace_sf(x: float) -> float:
    """1 - :func:`laplace_cdf`, accurate where the distribution function is close to 1."""
    return 1.0 - 0.5 * math.exp(x) if x < 0 else 0.5 * math.exp(-x)


def count_bins(min_count: int, largest: int) -> list[int]:
    """Bin edges a count is released at below the controlled tier: min_count x 1, 2, 5, 10, 20, ... to ``largest``.

    >>> count_bins(5, 1000)
    [5, 10, 25, 50, 100, 250, 500, 1000]
    >>> count_bins(5, 4)
    []
    """
    edges, scale = [], 1
    while min_count * scale <= largest:
        edges += [min_count * scale * step for step in (1, 2, 5) if min_count * scale * step <= largest]
        scale *= 10
    return edges


def edges_for(min_count: int, count: int, boolean: bool, slope: float = SLOPE) -> list[int]:
    """The edges whose answer probabilities matter for ``count`` carriers (those beyond ~40 nats are certain)."""
    if boolean:
        return [min_count]
    return count_bins(min_count, count + math.ceil(40 / slope) + 1) or [min_count]


def release_probabilities(count: int, edges: list[int], slope: float = SLOPE) -> dict[int, float]:
    """P(answer | ``count`` carriers): answer 0 (nothing to report) or the edge released.

    >>> {k: round(v, 3) for k, v in release_probabilities(5, [5]).items()}
    {0: 0.5, 5: 0.5}
    >>> round(release_probabilities(0, [5])[5], 4)  # an absent allele: "yes" one time in 64
    0.0156
    >>> round(sum(release_probabilities(12, [5, 10, 25]).values()), 12)
    1.0
    """
    above = [laplace_cdf(slope * (count - edge)) for edge in edges]
    above_sf = [laplace_sf(slope * (count - edge)) for edge in edges]
    result = {0: above_sf[0]}
    for k, edge in enumerate(edges):
        if k + 1 < len(edges):  # F_k - F_{k+1}, from whichever side keeps precision
            p = above[k] - above[k + 1] if above[k] < 0.5 else above_sf[k + 1] - above_sf[k]
        else:
            p = above[k]
        result[edge] = max(p, 0.0)
    return result


def draw(count: int, edges: list[int], u: float, slope: float = SLOPE) -> int:
    """The answer for ``count`` carriers and a uniform ``u``: the highest edge with ``u < F(slope (count - edge))``.

    One draw decides every edge, so the released value never skips an edge it should have passed.

    >>> draw(5, [5], 0.49), draw(5, [5], 0.51)
    (5, 0)
    """
    released = 0
    for edge in edges:
        if u < laplace_cdf(slope * (count - edge)):
            released = edge
        else:
            break
    return released


def evidence(answer: int, count: int, edges: list[int], slope: float = SLOPE) -> float:
    """log P(answer | count) - log P(answer | count - 1): what this answer says about any one of the carriers.

    Positive when the answer is likelier with the carrier than without (evidence of membership).

    >>> round(evidence(5, 6, [5]), 3), round(evidence(0, 6, [5]), 3)
    (0.405, -0.693)
    >>> round(evidence(5, 40, [5]), 9)  # a common allele: nothing to learn from its "yes"
    0.0
    """
    with_carrier = release_probabilities(count, edges, slope)[answer]
    without = release_probabilities(count - 1, edges, slope)[answer]
    return math.log(with_carrier) - math.log(without)
