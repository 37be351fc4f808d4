"""Asking another matchmaker: ``POST <peer>/match`` with our token, and reading its answer.

We send the MME v1.0 media type in ``Content-Type`` and ``Accept`` (every production node accepts
it; minor versions interoperate) and the ``X-Auth-Token`` the peer gave us (``mme_token_out`` in
``sharing.toml``). A peer that cannot be reached, refuses (401, 406, ...) or answers something
that is not an MME response is a :class:`~genomed.errors.PeerError` naming the peer and why. A
response whose individual results are malformed keeps the good ones and lists the others in
``problems``: one bad record of a partner must not hide the rest.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx

from genomed.errors import ConfigurationError, PeerError
from genomed.share.matching.documents import MmeDocumentError, MmePatient, parse_patient
from genomed.share.matching.media import DEFAULT_OUTGOING, ApiVersion, parse_media_type
from genomed.share.settings import Peer

DEFAULT_TIMEOUT = 30.0


@dataclass(frozen=True)
class PeerResult:
    score: float
    patient: MmePatient


@dataclass(frozen=True)
class PeerAnswer:
    peer: str
    results: tuple[PeerResult, ...]
    problems: tuple[str, ...]
    version: ApiVersion | None
    """The version the peer says it answered in (its ``Content-Type``), if it said."""
    disclaimer: str | None = None


def match_url(base_url: str) -> str:
    """The ``/match`` address of a node from its base URL.

    >>> match_url("http://127.0.0.1:8082/"), match_url("https://mme.example.org/api/match")
    ('http://127.0.0.1:8082/match', 'https://mme.example.org/api/match')
    """
    base = base_url.rstrip("/")
    return base if base.endswith("/match") else f"{base}/match"


def parse_results(peer: str, body: Any) -> tuple[list[PeerResult], list[str]]:
    """The well-formed results of a peer's response body, and what was wrong with the others."""
    if not isinstance(body, dict) or not isinstance(body.get("results"), list):
        raise PeerError(f"peer {peer} answered without a 'results' list: not an MME response")
    results: list[PeerResult] = []
    problems: list[str] = []
    for i, entry in enumerate(body["results"]):
        where = f"results[{i}]"
        if not isinstance(entry, dict):
            problems.append(f"{where}: not an object")
            continue
        score = entry.get("score", {}).get("patient") if isinstance(entry.get("score"), dict) else None
        if isinstance(score, bool) or not isinstance(score, int | float) or not 0.0 <= float(score) <= 1.0:
            problems.append(f"{where}.score.patient: must be a number in [0, 1], got {score!r}")
            continue
        try:
            patient = parse_patient(entry.get("patient"), where=f"{where}.patient")
        except MmeDocumentError as exc:
            problems.append(str(exc))
            continue
        results.append(PeerResult(float(score), patient))
    return results, problems


def query_peer(peer: Peer, patient: MmePatient, *, timeout: float = DEFAULT_TIMEOUT,
               client: httpx.Client | None = None, version: ApiVersion = DEFAULT_OUTGOING) -> PeerAnswer:
    """Send ``patient`` to ``peer``'s ``/match`` and parse the answer (errors: see the module docstring)."""
    if not peer.mme_token_out:
        raise ConfigurationError(f"peer {peer.name!r} has no mme_token_out in sharing.toml: ask its operator for the "
                                 "X-Auth-Token they issued us and store it with `genomed match token store`")
    headers = {"X-Auth-Token": peer.mme_token_out, "Content-Type": version.media_type,
               "Accept": version.media_type}
    url = match_url(peer.url)
    own = client is None
    http = client or httpx.Client(timeout=timeout)
    try:
        response = http.post(url, json={"patient": patient.to_json()}, headers=headers)
    except httpx.HTTPError as exc:
        raise PeerError(f"peer {peer.name} ({url}) could not be reached: {type(exc).__name__}: {exc}") from exc
    finally:
        if own:
            http.close()
    if response.status_code != 200:
        raise PeerError(f"peer {peer.name} refused the match request: HTTP {response.status_code} "
                        f"{_message(response)}")
    try:
        body = response.json()
    except ValueError as exc:
        raise PeerError(f"peer {peer.name} answered with a body that is not JSON") from exc
    results, problems = parse_results(peer.name, body)
    answered = parse_media_type(response.headers.get("content-type", ""))
    disclaimer = body.get("disclaimer") if isinstance(body.get("disclaimer"), str) else None
    results.sort(key=lambda r: -r.score)
    return PeerAnswer(peer.name, tuple(results), tuple(problems), answered, disclaimer)


def _message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return str(body["message"])[:300]
    return str(body)[:200]


__all__ = ["DEFAULT_TIMEOUT", "PeerAnswer", "PeerResult", "match_url", "parse_results", "query_peer"]
