"""GA4GH Passports: turning a bearer token into a :class:`~genomed.share.identity.Requester`.

A Passport is a JWT signed by a broker; its ``ga4gh_passport_v1`` claim lists visas, each a JWT
signed by a visa issuer (a broker, a data access committee, or this node itself when it approved a
researcher's access request). We accept a token only when:

* its header names a real signature algorithm (``alg=none`` and HMAC algorithms are refused: an
  HMAC "signature" with a public key as secret is the classic JWT forgery);
* its issuer is one of the trusted brokers of ``sharing.toml`` and the signature verifies with
  that broker's key;
* it has not expired (``exp`` is required) and is already valid (``iat``/``nbf``), with a small leeway.

A valid passport makes the requester *registered*. Each valid ``ControlledAccessGrants`` visa whose
subject is the passport's subject adds a controlled grant for the dataset it names (the last path
segment of the visa ``value``). Anything invalid falls back, silently, to fewer rights.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from genomed.errors import ConfigurationError
from genomed.share.identity import Requester, Tier
from genomed.share.settings import TrustedBroker

LOG = logging.getLogger(__name__)
PASSPORT_CLAIM = "ga4gh_passport_v1"
VISA_CLAIM = "ga4gh_visa_v1"
CONTROLLED_ACCESS = "ControlledAccessGrants"
LEEWAY_SECONDS = 30

VerifyKey = Ed25519PublicKey | RSAPublicKey | EllipticCurvePublicKey


def algorithms_for(key: VerifyKey) -> list[str]:
    """The signature algorithms a key may verify: never ``none``, never HMAC."""
    if isinstance(key, Ed25519PublicKey):
        return ["EdDSA"]
    if isinstance(key, RSAPublicKey):
        return ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512"]
    return ["ES256", "ES384", "ES512"]


def load_verify_key(pem: str, issuer: str) -> VerifyKey:
    try:
        key = load_pem_public_key(pem.encode())
    except ValueError as exc:
        raise ConfigurationError(f"trusted broker {issuer!r}: public_key is not a PEM public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey | RSAPublicKey | EllipticCurvePublicKey):
        raise ConfigurationError(f"trusted broker {issuer!r}: unsupported key type {type(key).__name__}")
    return key


@dataclass(frozen=True)
class Issuer:
    name: str
    key: VerifyKey
    country: str = ""


def dataset_of_visa(value: str) -> str:
    """The dataset a ControlledAccessGrants value names: ``https://node/datasets/DS1`` → ``DS1``."""
    return value.rstrip("/").rsplit("/", 1)[-1]


class PassportVerifier:
    """Verifies passports and visas against the node's trusted issuers.

    ``visa_is_live`` is asked about every visa this node issued itself (``iss`` equal to
    ``own_issuer``): revoking an access request makes its visa worthless at once, before it expires.
    """

    def __init__(self, issuers: Sequence[Issuer], *, own_issuer: str | None = None,
                 visa_is_live: Callable[[str], bool] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.issuers = {issuer.name: issuer for issuer in issuers}
        self.own_issuer = own_issuer
        self.visa_is_live = visa_is_live
        self.clock = clock

    @classmethod
    def from_brokers(cls, brokers: Sequence[TrustedBroker], **kwargs: Any) -> PassportVerifier:
        return cls([Issuer(b.issuer, load_verify_key(b.public_key, b.issuer), b.country) for b in brokers], **kwargs)

    def _verified_claims(self, token: str) -> tuple[Issuer, dict[str, Any]] | None:
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            return None
        issuer = self.issuers.get(str(unverified.get("iss", "")))
        if issuer is None:
            return None
        allowed = algorithms_for(issuer.key)
        if header.get("alg") not in allowed:
            return None
        try:
            claims = jwt.decode(token, issuer.key, algorithms=allowed, issuer=issuer.name,
                                options={"require": ["exp", "iat", "iss", "sub"], "verify_aud": False},
                                leeway=LEEWAY_SECONDS)
        except jwt.PyJWTError as exc:
            LOG.debug("token from %s refused: %s", issuer.name, exc)
            return None
        if float(claims["iat"]) > self.clock() + LEEWAY_SECONDS:
            return None
        return issuer, claims

    def resolve(self, authorization: str | None, address: str = "unknown") -> Requester:
        """The requester a ``Authorization: Bearer <passport>`` header proves; public when it proves nothing."""
        anonymous = Requester.anonymous(address)
        if not authorization:
            return anonymous
        scheme, _, token = authorization.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return anonymous
        verified = self._verified_claims(token.strip())
        if verified is None:
            return anonymous
        issuer, claims = verified
        subject = str(claims["sub"])
        datasets: set[str] = set()
        visa_ids: list[str] = []
        visas = claims.get(PASSPORT_CLAIM, [])
        for visa_token in visas if isinstance(visas, list) else []:
            if not isinstance(visa_token, str):
                continue
            checked = self._verified_claims(visa_token)
            if checked is None:
                continue
            visa_issuer, visa = checked
            body = visa.get(VISA_CLAIM)
            if str(visa["sub"]) != subject or not isinstance(body, dict):
                continue
            if body.get("type") != CONTROLLED_ACCESS or not isinstance(body.get("value"), str):
                continue
            visa_id = str(visa.get("jti", ""))
            if visa_issuer.name == self.own_issuer and (
                    self.visa_is_live is None or not visa_id or not self.visa_is_live(visa_id)):
                continue
            datasets.add(dataset_of_visa(body["value"]))
            if visa_id:
                visa_ids.append(visa_id)
        country = claims.get("country") or issuer.country or None
        return Requester(
            identity=f"{issuer.name}#{subject}",
            tier=Tier.CONTROLLED if datasets else Tier.REGISTERED,
            country=str(country).upper() if country else None,
            controlled_datasets=frozenset(datasets),
            visa_ids=tuple(visa_ids),
        )
