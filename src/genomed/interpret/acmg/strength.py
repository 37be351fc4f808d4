"""Evidence strengths and directions, and the points each strength is worth.

The points are those of Tavtigian et al. 2020 (Hum Mutat 41:1734), who showed that the ACMG/AMP
strengths behave as a Bayesian scale of odds of pathogenicity where each level is the square of
the one below: Supporting 1, Moderate 2, Strong 4, Very Strong 8 points; benign evidence counts
negative. BA1 is "stand-alone": it is not on the scale, it decides the class by itself.
"""

from __future__ import annotations

from enum import StrEnum

from genomed.errors import InputError


class Strength(StrEnum):
    """How much weight one criterion carries (values as written in ClinGen specifications)."""

    STAND_ALONE = "stand_alone"
    VERY_STRONG = "very_strong"
    STRONG = "strong"
    MODERATE = "moderate"
    SUPPORTING = "supporting"

    @property
    def label(self) -> str:
        """The suffix used when a criterion is applied at a modified strength, e.g. ``PM2_Supporting``.

        >>> Strength.VERY_STRONG.label
        'VeryStrong'
        """
        return "".join(part.capitalize() for part in self.value.split("_"))

    @property
    def points(self) -> int:
        """Tavtigian 2020 points of a pathogenic criterion at this strength (0 for stand-alone).

        >>> [s.points for s in Strength]
        [0, 8, 4, 2, 1]
        """
        return _POINTS[self]

    @classmethod
    def parse(cls, value: str | Strength) -> Strength:
        """A strength from its value or label, with an :class:`InputError` naming the choices.

        >>> Strength.parse("Supporting"), Strength.parse("very_strong")
        (<Strength.SUPPORTING: 'supporting'>, <Strength.VERY_STRONG: 'very_strong'>)
        """
        if isinstance(value, Strength):
            return value
        key = str(value).strip().lower().replace(" ", "_").replace("-", "_")
        if key == "verystrong":
            key = "very_strong"
        if key == "standalone":
            key = "stand_alone"
        try:
            return cls(key)
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise InputError(f"unknown evidence strength {value!r}: use one of {choices}") from None


_POINTS = {Strength.STAND_ALONE: 0, Strength.VERY_STRONG: 8, Strength.STRONG: 4, Strength.MODERATE: 2,
           Strength.SUPPORTING: 1}


class Direction(StrEnum):
    """Which way a criterion points."""

    PATHOGENIC = "pathogenic"
    BENIGN = "benign"
