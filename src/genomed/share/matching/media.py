"""The MME API version, carried in the media type: ``application/vnd.ga4gh.matchmaker.vX.Y+json``.

The search API puts its version in ``Content-Type`` (mandatory on every request). Minor versions
are cross-compatible, so a request in any ``v1.Y`` is answered, in ``v1.Y`` itself when we speak
it and otherwise in our newest ``v1`` minor version, and the response's ``Content-Type`` says
which. A request in another major version is refused with ``406 Not Acceptable``, whose
``Content-Type`` names our newest version so the caller can re-submit. A missing or non-MME
``Content-Type`` is ``415 Unsupported Media Type``. ``Accept``, when the caller sends one that
lists only MME types, must allow a major version we speak (else 406 as well) and picks the minor
version of the answer among those; ``*/*`` and ``application/json`` accept anything.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SUPPORTED: tuple[tuple[int, int], ...] = ((1, 0), (1, 1))
"""The versions this node answers in (v1.1 added labels, contact roles and e-mail, which we parse)."""

_MEDIA = re.compile(r"^application/vnd\.ga4gh\.matchmaker\.v(\d+)\.(\d+)\+json$")


@dataclass(frozen=True, order=True)
class ApiVersion:
    major: int
    minor: int

    @property
    def media_type(self) -> str:
        """``application/vnd.ga4gh.matchmaker.v1.0+json`` for 1.0."""
        return f"application/vnd.ga4gh.matchmaker.v{self.major}.{self.minor}+json"

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


LATEST = ApiVersion(*max(SUPPORTED))
DEFAULT_OUTGOING = ApiVersion(1, 0)
"""What we send peers: v1.0, the version every production node accepts (minor versions interoperate)."""


class UnsupportedMediaType(Exception):  # noqa: N818 - named after the HTTP status it maps to
    """415: the request does not say it is an MME request."""


class NotAcceptable(Exception):  # noqa: N818
    """406: the request's MME version is one we do not speak."""


def parse_media_type(value: str) -> ApiVersion | None:
    """The MME version a media type names, ignoring parameters; None for any other media type.

    >>> parse_media_type("application/vnd.ga4gh.matchmaker.v1.0+json; charset=utf-8")
    ApiVersion(major=1, minor=0)
    >>> parse_media_type("application/json") is None
    True
    """
    found = _MEDIA.match(value.split(";", 1)[0].strip().lower())
    return ApiVersion(int(found.group(1)), int(found.group(2))) if found else None


def supported_versions() -> list[str]:
    return [f"{major}.{minor}" for major, minor in SUPPORTED]


def answer_version(requested: ApiVersion) -> ApiVersion | None:
    """The version we answer a request of ``requested`` in; None if no version of that major is ours.

    >>> str(answer_version(ApiVersion(1, 0))), str(answer_version(ApiVersion(1, 7))), answer_version(ApiVersion(2, 0))
    ('1.0', '1.1', None)
    """
    if (requested.major, requested.minor) in SUPPORTED:
        return requested
    same_major = [v for v in SUPPORTED if v[0] == requested.major]
    return ApiVersion(*max(same_major)) if same_major else None


def negotiate(content_type: str | None, accept: str | None) -> ApiVersion:
    """The version to answer in, from the request headers (rules in the module docstring)."""
    if not content_type or not content_type.strip():
        raise UnsupportedMediaType(f"missing Content-Type: send {LATEST.media_type}")
    requested = parse_media_type(content_type)
    if requested is None:
        raise UnsupportedMediaType(f"Content-Type {content_type.split(';', 1)[0].strip()!r} is not an MME media type: "
                                   f"send {LATEST.media_type}")
    chosen = answer_version(requested)
    if chosen is None:
        raise NotAcceptable(f"unsupported API version {requested}")
    if accept and accept.strip():
        ranges = [part.split(";", 1)[0].strip().lower() for part in accept.split(",") if part.strip()]
        if not any(r in ("*/*", "application/*", "application/json") for r in ranges):
            offered = [v for v in (parse_media_type(r) for r in ranges) if v is not None]
            usable = {u for u in (answer_version(v) for v in offered) if u is not None and u.major == chosen.major}
            if not usable:
                raise NotAcceptable(f"Accept {accept.strip()!r} allows no API version this node speaks")
            if chosen not in usable:
                chosen = max(usable)  # the caller's Accept wins among compatible minor versions
    return chosen


__all__ = ["DEFAULT_OUTGOING", "LATEST", "SUPPORTED", "ApiVersion", "NotAcceptable", "UnsupportedMediaType",
           "answer_version", "negotiate", "parse_media_type", "supported_versions"]
