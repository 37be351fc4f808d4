"""The one exception hierarchy of genomed.

Every failure a user can cause or meet (bad input, a refused consent, a denied permission, a
tampered file) is raised as a subclass of :class:`GenomedError`, with a message that names the
problem in words an operator understands. The CLI prints that message on one line and exits with
the class's ``exit_code``, so scripts can tell kinds of failure apart without parsing text.
"""

from __future__ import annotations


class GenomedError(Exception):
    """Root of every error genomed raises on purpose."""

    exit_code: int = 1


class ConfigurationError(GenomedError):
    """The node's home, configuration file or keys are missing or inconsistent."""

    exit_code = 3


class NotFoundError(GenomedError):
    """A patient, sample, file, user or other record named by the caller does not exist."""

    exit_code = 4


class InputError(GenomedError):
    """A value or a file given by the caller is malformed (a bad date, a broken PED line, ...)."""

    exit_code = 5


class DuplicateError(GenomedError):
    """The record already exists: the same person included twice, the same file stored twice."""

    exit_code = 6


class AccessDeniedError(GenomedError):
    """The acting user's roles do not grant the permission an action needs."""

    exit_code = 7


class ConsentError(GenomedError):
    """The patient's consent does not cover the action (absent, withdrawn or out of scope)."""

    exit_code = 8


class IllegalTransitionError(GenomedError):
    """A case was asked to move to a state its current state cannot reach."""

    exit_code = 9


class EligibilityError(GenomedError):
    """A prescription does not meet its clinical indication's eligibility criteria."""

    exit_code = 10


class IntegrityViolationError(GenomedError):
    """Stored data does not match what was recorded: a tampered file, a broken audit chain."""

    exit_code = 11


class CryptoKeyError(GenomedError):
    """A key is wrong, unreadable or locked (bad passphrase, a file not encrypted for this node)."""

    exit_code = 12


class StateError(GenomedError):
    """The action conflicts with the current state of a record (e.g. editing a signed report)."""

    exit_code = 13


class ReferenceSequenceError(InputError):
    """A reference sequence is unreadable, lacks an index, or does not cover the position asked for."""


class MalformedVCFError(InputError):
    """A VCF/gVCF that cannot be read as VCF: a broken header, an unparsable record, a bad genotype.

    The message names the file and, where the reader knows it, the line and the last good record.
    """


class TruncatedFileError(MalformedVCFError):
    """A bgzipped file that ends in the middle of a block (an interrupted copy or upload)."""


class WrongBuildError(InputError):
    """A file called on a different genome build from the node's (e.g. GRCh37 into a GRCh38 node)."""


class UnknownSampleError(InputError):
    """A sample column of an input file that matches no sample of the catalog."""


class ReferenceMismatchError(InputError):
    """A record whose REF allele disagrees with the reference genome at its position."""


class BudgetExhaustedError(GenomedError):
    """A requester has spent its query budget for the period (the privacy guard's bound on inference)."""

    exit_code = 14


class PeerError(GenomedError):
    """A federation peer or matchmaking partner that cannot be reached, or that answered wrongly."""

    exit_code = 15
