"""The node as a GA4GH visa issuer and as its own researchers' passport broker.

When a data steward approves an access request, the node's data access committee asserts a
``ControlledAccessGrants`` visa: a JWT signed with the node's Ed25519 key (EdDSA), whose issuer is
the node's public URL, whose subject is the researcher's username at the node, whose value is the
dataset's URL and whose ``jti`` is the request's visa id. The visa is not stored: every claim
follows from the approved request (issue time = decision time, expiry = the grant's end), and
Ed25519 signatures are deterministic, so signing it again yields the same token.

A local researcher has no other broker, so the node also signs a short-lived passport wrapping the
researcher's live visas; with it in ``Authorization: Bearer`` the researcher queries the Beacon.
Other nodes that want to accept our researchers' passports add our public key (:func:`public_key_pem`)
to their ``[[brokers]]``; our visas grant nothing there (they name our datasets, not theirs).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from genomed.share.passports import CONTROLLED_ACCESS, PASSPORT_CLAIM, VISA_CLAIM, Issuer
from genomed.share.settings import SharingSettings
from genomed.vault.keys import NodeKeys

ALGORITHM = "EdDSA"
PASSPORT_LIFETIME = dt.timedelta(hours=1)
VISA_TYPE = "vnd.ga4gh.visa+jwt"
PASSPORT_TYPE = "vnd.ga4gh.passport+jwt"
ASSERTED_BY = "dac"


def node_url(settings: SharingSettings) -> str:
    """The node's issuer name and audience: its public URL without a trailing slash."""
    return settings.beacon.public_url.rstrip("/")


def dataset_url(url: str, dataset_id: str) -> str:
    """The URL a visa names a dataset of this node by.

    >>> dataset_url("https://node.se", "DS1")
    'https://node.se/datasets/DS1'
    """
    return f"{url}/datasets/{dataset_id}"


def public_key_pem(keys: NodeKeys) -> str:
    """The node's issuer key as a PEM ``PUBLIC KEY``: what another node pastes into its ``[[brokers]]``."""
    return keys.verify_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def own_issuer(keys: NodeKeys, settings: SharingSettings) -> Issuer:
    """This node as an issuer its own verifier trusts (no fixed country: its passports state one)."""
    return Issuer(name=node_url(settings), key=keys.verify_key)


@dataclass(frozen=True)
class VisaGrant:
    """What an approved access request asserts: who may read which dataset, from when, until when."""

    visa_id: str
    subject: str
    dataset_id: str
    asserted: dt.datetime
    expires: dt.datetime


def _seconds(moment: dt.datetime) -> int:
    return int(moment.timestamp())


def sign_visa(keys: NodeKeys, settings: SharingSettings, grant: VisaGrant) -> str:
    """The ControlledAccessGrants visa JWT for one grant, signed with the node's key."""
    url = node_url(settings)
    claims = {
        "iss": url,
        "sub": grant.subject,
        "iat": _seconds(grant.asserted),
        "exp": _seconds(grant.expires),
        "jti": grant.visa_id,
        VISA_CLAIM: {
            "type": CONTROLLED_ACCESS,
            "value": dataset_url(url, grant.dataset_id),
            "source": url,
            "by": ASSERTED_BY,
            "asserted": _seconds(grant.asserted),
        },
    }
    return jwt.encode(claims, keys.signing_key, algorithm=ALGORITHM,
                      headers={"typ": VISA_TYPE, "kid": keys.signing_key_id})


def sign_passport(keys: NodeKeys, settings: SharingSettings, subject: str, visas: Sequence[str], *,
                  country: str | None, now: dt.datetime, lifetime: dt.timedelta = PASSPORT_LIFETIME) -> str:
    """A passport JWT for a local researcher, wrapping ``visas``; short-lived, as a bearer token should be."""
    url = node_url(settings)
    claims: dict[str, object] = {
        "iss": url,
        "sub": subject,
        "iat": _seconds(now),
        "exp": _seconds(now + lifetime),
        "jti": uuid.uuid4().hex,
        PASSPORT_CLAIM: list(visas),
    }
    if country:
        claims["country"] = country
    return jwt.encode(claims, keys.signing_key, algorithm=ALGORITHM,
                      headers={"typ": PASSPORT_TYPE, "kid": keys.signing_key_id})
