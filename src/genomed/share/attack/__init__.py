"""A membership-inference attack harness that tests the privacy guard against the attack it exists for.

Shringarpure & Bustamante (2015, AJHG 97:631, "Privacy risks from genomic data-sharing beacons")
showed that an attacker who holds someone's genome can tell, from a few hundred to a few thousand
"is this allele in your beacon?" answers, whether that person is in the beacon. The privacy guard
(:mod:`genomed.share.guard`) claims to stop this below the controlled tier; this package measures
the claim instead of asserting it.

One module per job:

* :mod:`.population` -- the people: one msprime genealogy (Tennessen et al. 2012 European
  demography with recent growth, from :mod:`genomed.simulate.ancestry`) split into the beacon's
  members, a disjoint reference panel the attacker takes allele frequencies from, and outsiders
  (non-member targets from the same population); kept as per-allele counts and per-target allele lists;
* :mod:`.lrt` -- the attackers' statistics: the Shringarpure-Bustamante likelihood-ratio test
  and a stronger attacker who knows how the guard shapes answers (booleans or counts);
* :mod:`.harness` -- the beacon (raw, or answering through the real :class:`PrivacyGuard` with
  budgets charged in a real database session), the attacks, and power at a 5% false-positive rate.
"""

from __future__ import annotations
