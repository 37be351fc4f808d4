"""The attackers' statistics: the Shringarpure-Bustamante likelihood-ratio test, and an attacker who knows the guard.

**The paper's test** (Shringarpure & Bustamante 2015, AJHG 97:631, section "Likelihood-ratio
test"). The attacker holds the genome of a target and asks the beacon about n alleles the target
carries; answer x_i is 1 ("yes") or 0. Under H0 the target is not in the beacon of N genomes, and
the beacon says "no" exactly when none of its N genomes carries the allele, with probability

    D_N = E[(1 - f)^(2N)] = B(a, b + 2N) / B(a, b) = Γ(a+b) Γ(b+2N) / (Γ(b) Γ(a+b+2N))

for an allele frequency f ~ Beta(a, b) (the paper's site-frequency-spectrum model). Under H1 the
target is one of the N, so "no" needs the other N - 1 to lack the allele *and* the target's copy
to be missing from the beacon's data (a sequencing or calling mismatch, probability δ; the paper
uses δ = 1e-6): P(x_i = 0 | H1) = δ D_{N-1}. The log-likelihood ratio the paper writes as

    Λ = log L(H0) - log L(H1) = Σ_i [ x_i log((1 - D_N) / (1 - δ D_{N-1})) + (1 - x_i) log(D_N / (δ D_{N-1})) ]

rejects H0 (calls the target a member) when Λ is small. We use the *membership score* S = -Λ, so
larger means "member". The paper's optimal attacker knows allele frequencies and queries the
target's rarest alleles first; here its knowledge is a reference panel of R genomes from the same
population, and D_N is the same expectation under the posterior Beta(a + c_i, b + 2R - c_i) of an
allele seen c_i times in the panel (with R = 0 this is exactly the paper's formula).

**The informed attacker** is what the guard must also withstand: it knows the guard (its code is
public, and an attacker may read a node's settings), so it models the answer it will get instead
of treating "no" as absence. With carrier counts K ~ BetaBinomial(N, a + r_i, b + R - r_i) for an
allele carried by r_i panel individuals, a member's allele is counted K' + 1 times (K' over the
other N - 1 members; K' times with probability δ), an outsider's K times, and the beacon answers
with the guard's published probabilities P(answer | count) (a boolean or a count; certain for a
deterministic guard, drawn near the threshold by the donor ledger's). The score adds
log P(answer | member) - log P(answer | outsider) for each answer, which is the most powerful test
for those answers (Neyman-Pearson); what it cannot model is the ledger leaving out donors whose
evidence is spent, which no attacker can observe. The attacker spends its queries on the target's
alleles whose answers are expected to tell members from outsiders best (largest J-divergence).
Against a raw beacon it queries the rarest alleles first, like the paper's attacker; against a
guard that suppresses counts below a threshold it turns to alleles whose count is expected near
the threshold, where a single carrier still changes the answer.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from genomed.errors import InputError

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.int32]
MISMATCH = 1e-6  # δ, the paper's probability that a carrier's allele is missing from the beacon's data
PRIOR = (0.5, 0.5)  # Beta(a, b): the attacker's prior on an allele's frequency before its reference panel
_TINY = 1e-300


def log_absence_probability(a: Floats | float, b: Floats | float, genomes: int) -> Floats:
    """log D_N: probability that none of ``genomes`` diploid genomes carries an allele with frequency ~ Beta(a, b).

    >>> round(float(np.exp(log_absence_probability(1.0, 1.0, 1))), 6)  # uniform f: E[(1 - f)^2] = 1/3
    0.333333
    >>> float(np.exp(log_absence_probability(0.5, 0.5, 0)))  # no genome carries anything
    1.0
    """
    lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
    a_, b_ = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    result: Floats = lgamma(a_ + b_) + lgamma(b_ + 2 * genomes) - lgamma(b_) - lgamma(a_ + b_ + 2 * genomes)
    return result


@dataclass(frozen=True)
class ShringarpureBustamante:
    """The paper's test, with per-allele D_N from a reference panel: score weights per panel count.

    ``yes[c]`` and ``no[c]`` are the membership-score terms (-Λ) of a "yes" and a "no" for an
    allele seen ``c`` times among the panel's 2R chromosomes.
    """

    members: int
    reference: int
    yes: Floats
    no: Floats

    @classmethod
    def build(cls, members: int, reference: int, *, mismatch: float = MISMATCH,
              prior: tuple[float, float] = PRIOR) -> ShringarpureBustamante:
        if members < 2:
            raise InputError("a beacon needs at least two genomes for the test")
        copies = np.arange(2 * reference + 1, dtype=np.float64)
        a, b = prior[0] + copies, prior[1] + 2 * reference - copies
        log_d_n = log_absence_probability(a, b, members)
        log_d_n1 = log_absence_probability(a, b, members - 1)
        log_delta_d_n1 = math.log(mismatch) + log_d_n1
        # x = 1: log(1 - δ D_{N-1}) - log(1 - D_N);  x = 0: log(δ D_{N-1}) - log(D_N)
        yes = np.log1p(-np.exp(log_delta_d_n1)) - np.log1p(-np.exp(log_d_n))
        no = log_delta_d_n1 - log_d_n
        return cls(members=members, reference=reference, yes=yes, no=no)

    def plan(self, reference_copies: Ints, limit: int) -> npt.NDArray[np.int64]:
        """Positions of the alleles to ask about, in order: the rarest in the panel first."""
        return np.argsort(reference_copies, kind="stable")[:limit]

    def scores(self, reference_copies: Ints, answers: Ints) -> Floats:
        """The membership-score terms of answers (anything above zero counts as "yes")."""
        result: Floats = np.where(answers > 0, self.yes[reference_copies], self.no[reference_copies])
        return result


def deterministic(answers: Sequence[int]) -> list[dict[int, float]]:
    """A release that always gives ``answers[c]`` for ``c`` carriers, as :meth:`InformedAttacker.build` takes it.

    >>> deterministic([0, 0, 1])
    [{0: 1.0}, {0: 1.0}, {1: 1.0}]
    """
    return [{int(answer): 1.0} for answer in answers]


def beta_binomial_pmf(n: int, a: Floats, b: Floats) -> Floats:
    """P(K = k), k = 0..n, for K ~ BetaBinomial(n, a, b), one row per (a, b) pair.

    Computed from P(0) = B(a, b + n) / B(a, b) and the ratio of successive terms, so that no
    binomial coefficient of a large n is ever formed.

    >>> beta_binomial_pmf(2, np.array([1.0]), np.array([1.0])).round(4).tolist()  # uniform on 0..2
    [[0.3333, 0.3333, 0.3333]]
    """
    a_, b_ = np.atleast_1d(a)[:, None], np.atleast_1d(b)[:, None]
    lgamma = np.vectorize(math.lgamma, otypes=[np.float64])
    log_p0 = lgamma(a_ + b_) + lgamma(b_ + n) - lgamma(b_) - lgamma(a_ + b_ + n)
    k = np.arange(n, dtype=np.float64)[None, :]
    log_steps = np.log(n - k) + np.log(k + a_) - np.log(k + 1) - np.log(n - k - 1 + b_)
    log_pmf = np.concatenate([log_p0, log_p0 + np.cumsum(log_steps, axis=1)], axis=1)
    pmf: Floats = np.exp(log_pmf)
    return pmf


@dataclass(frozen=True)
class InformedAttacker:
    """An attacker who knows the mapping from a beacon's true count to its answer (see the module docstring).

    ``weights[r, j]`` is the score of answer ``answers[j]`` for an allele carried by ``r`` panel
    individuals; ``information[r]`` is the J-divergence between that answer's distributions for a
    member and for an outsider, which orders the queries.
    """

    answers: Ints
    weights: Floats
    information: Floats
    rarest_first: bool = False

    @classmethod
    def build(cls, members: int, reference: int, release: Sequence[Mapping[int, float]], *,
              mismatch: float = MISMATCH, prior: tuple[float, float] = PRIOR,
              rarest_first: bool = False) -> InformedAttacker:
        """``release[c]`` maps each answer to its probability when ``c`` members carry the allele (c = 0..members).

        ``rarest_first`` keeps the paper's query order (rarest in the panel first) instead of the
        most informative first: against a threshold, a "yes" about an allele nobody else should
        carry is the most telling answer of all, if rarely given.
        """
        if len(release) != members + 1:
            raise InputError(f"release must give the answers for every count 0..{members}")
        carriers = np.arange(reference + 1, dtype=np.float64)
        a, b = prior[0] + carriers, prior[1] + reference - carriers
        outsider = beta_binomial_pmf(members, a, b)  # true count = K over the N members
        others = beta_binomial_pmf(members - 1, a, b)  # K' over the other N - 1
        member = np.zeros_like(outsider)
        member[:, 1:] += (1 - mismatch) * others
        member[:, :-1] += mismatch * others
        answers = np.array(sorted({answer for row in release for answer in row}), dtype=np.int64)
        column = {int(answer): j for j, answer in enumerate(answers)}
        matrix = np.zeros((members + 1, answers.size))  # P(answer | true count)
        for count, row in enumerate(release):
            for answer, probability in row.items():
                matrix[count, column[answer]] = probability
        p_member, p_outsider = member @ matrix, outsider @ matrix
        log_m, log_o = np.log(np.maximum(p_member, _TINY)), np.log(np.maximum(p_outsider, _TINY))
        weights = log_m - log_o
        information = ((p_member - p_outsider) * weights).sum(axis=1)
        return cls(answers=answers.astype(np.int32), weights=weights, information=information,
                   rarest_first=rarest_first)

    def plan(self, reference_carriers: Ints, limit: int) -> npt.NDArray[np.int64]:
        """Positions of the alleles to ask about, most informative (or rarest) first, rarer first among equals."""
        if self.rarest_first:
            return np.argsort(reference_carriers, kind="stable")[:limit]
        order = np.lexsort((reference_carriers, -self.information[reference_carriers]))
        return order[:limit]

    def scores(self, reference_carriers: Ints, answers: Ints) -> Floats:
        """The membership-score terms of answers; an answer the model cannot produce scores 0."""
        j = np.minimum(np.searchsorted(self.answers, answers), self.answers.size - 1)
        known = self.answers[j] == answers
        result: Floats = np.where(known, self.weights[reference_carriers, j], 0.0)
        return result
