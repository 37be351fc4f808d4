"""GA4GH Passports: turning a bearer token into a :class:`~genomed.share.identity.Requester`.

A Passport is a JWT signed by a broker; its ``ga4gh_passport_v1`` claim lists visas, each a JWT
signed by a visa issuer (a broker, a data access committee, or this node itself when it approved a
researcher's access request). We accept a token only when:

* its header names a real signature algorithm for the issuer's key type (``alg=none`` and HMAC
  algorithms are refused: an HMAC "signature" with a public key as secret is the classic JWT forgery);
* its issuer is one of the trusted brokers of ``sharing.toml`` (or this node) and the signature
  verifies with that issuer's key;
* it has not expired (``exp`` is required), is already valid (``iat``/``nbf``, with a small leeway)
  and names a subject;
* when it carries an audience (``aud``), this node is in it (GA4GH AAI: a token meant for someone
  else must not be replayed here);
* it is what it claims to be: a passport has a ``ga4gh_passport_v1`` list and no visa body, a visa
  has a ``ga4gh_visa_v1`` object and no passport list, so a visa cannot be presented as a passport.

A valid passport makes the requester *registered*. A valid ``ControlledAccessGrants`` visa adds a
controlled grant when, in addition:

* its subject is the passport's subject;
* it names a dataset *of this node*: the value is ``<this node's public URL>/datasets/<id>``. A
  grant for another node's dataset that happens to share the id is not a grant here;
* it carries no ``conditions`` (GA4GH: a clearinghouse that does not evaluate conditions must not
  honour a visa that has them);
* if this node issued it, it sits in a passport this node issued (our visas name our local users,
  whose names mean nothing in another broker's namespace) and ``live_visas`` confirms the access
  request behind it is still approved, unrevoked and unexpired, so revocation is immediate.

Anything invalid falls back, silently, to fewer rights; nothing here raises on a bad token.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import threading
import time
from collections import OrderedDict
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
# Bounds on what one request can make us verify: a token is a few kB, a passport a few dozen visas.
MAX_TOKEN_CHARS = 64_000
MAX_VISAS = 100
VERIFIED_CACHE = 1024  # tokens; at most MAX_TOKEN_CHARS each, only ever ones a trusted issuer signed
DATASET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_COUNTRY = re.compile(r"^[A-Z]{2}$")

VerifyKey = Ed25519PublicKey | RSAPublicKey | EllipticCurvePublicKey


@dataclass(frozen=True)
class OwnVisa:
    """A grant one visa asserts: its id (``jti``), its subject and the dataset of this node it names."""

    visa_id: str
    subject: str
    dataset_id: str


# Which of these visas of this node still stand for a live access request? (their ids)
VisaLiveness = Callable[[Sequence[OwnVisa]], set[str]]


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
    """A passport broker or visa issuer: its ``iss`` name, its key, and where its users are (if national)."""

    name: str
    key: VerifyKey
    country: str = ""


def dataset_of_visa(value: str, datasets_url: str) -> str | None:
    """The dataset of this node a ControlledAccessGrants value names, or ``None``.

    >>> dataset_of_visa("https://node.se/datasets/DS1", "https://node.se/datasets")
    'DS1'
    >>> dataset_of_visa("https://other.fr/datasets/DS1", "https://node.se/datasets") is None
    True
    >>> dataset_of_visa("https://node.se/datasets/a/../DS2", "https://node.se/datasets") is None
    True
    """
    prefix = datasets_url.rstrip("/") + "/"
    if not value.startswith(prefix):
        return None
    dataset = value[len(prefix):].rstrip("/")
    return dataset if DATASET_ID.match(dataset) and dataset not in (".", "..") else None


def _segment(text: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))
    except (binascii.Error, ValueError):
        return None
    return value if isinstance(value, dict) else None


def peek(token: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """A JWT's header and payload, unverified: only to pick the issuer's key before PyJWT verifies.

    PyJWT's own unverified decode checks every character in Python, which for a passport of a few
    kB cost as much as verifying it; nothing read here is trusted, the verified decode follows.

    >>> peek("eyJhbGciOiJub25lIn0.eyJpc3MiOiJ4In0.")
    ({'alg': 'none'}, {'iss': 'x'})
    >>> peek("a.b.c") is None, peek("no dots") is None
    (True, True)
    """
    parts = token.split(".")
    if len(parts) != 3:
        return None
    header, payload = _segment(parts[0]), _segment(parts[1])
    return None if header is None or payload is None else (header, payload)


def country_code(value: object) -> str | None:
    """An ISO 3166-1 alpha-2 code from a claim, or ``None`` for anything else.

    >>> country_code("se"), country_code("Sweden"), country_code(46)
    ('SE', None, None)
    """
    if not isinstance(value, str):
        return None
    code = value.strip().upper()
    return code if _COUNTRY.match(code) else None


class PassportVerifier:
    """Verifies passports and visas against the node's trusted issuers.

    ``node_url`` is this node's public URL: only visas naming a dataset under
    ``<node_url>/datasets/`` grant anything, and a token with an audience must name it.
    ``own_issuer`` is the ``iss`` of the tokens this node signs; ``live_visas`` is asked, once per
    passport, about every visa this node issued itself, so revoking an access request makes its visa
    worthless at once, before it expires. An error in ``live_visas`` (a database outage) counts as
    "not live": the verifier fails closed.
    """

    def __init__(self, issuers: Sequence[Issuer], *, node_url: str, own_issuer: str | None = None,
                 live_visas: VisaLiveness | None = None, clock: Callable[[], float] = time.time) -> None:
        self.issuers: dict[str, Issuer] = {}
        for issuer in issuers:
            if issuer.name in self.issuers:
                raise ConfigurationError(f"issuer {issuer.name!r} is configured twice (a broker's issuer must "
                                         "differ from every other broker's and from this node's public_url)")
            self.issuers[issuer.name] = issuer
        if own_issuer is not None and own_issuer not in self.issuers:
            raise ConfigurationError(f"this node's own issuer {own_issuer!r} has no key among the issuers")
        self.audience = node_url.rstrip("/")
        self.datasets_url = f"{self.audience}/datasets"
        self.own_issuer = own_issuer
        self.live_visas = live_visas
        self.clock = clock
        # Tokens whose signature verified, newest last: a researcher sends the same passport with every
        # query. Only what cannot change is kept (a signature stays valid); time is checked on every
        # use and the liveness of our own visas is asked every time, so nothing here can go stale.
        self._verified: OrderedDict[str, tuple[Issuer, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_brokers(cls, brokers: Sequence[TrustedBroker], *, own: Issuer | None = None,
                     **kwargs: Any) -> PassportVerifier:
        """A verifier trusting ``brokers`` (from ``sharing.toml``) and, if given, this node's own issuer."""
        issuers = [Issuer(b.issuer, load_verify_key(b.public_key, b.issuer), b.country) for b in brokers]
        if own is not None:
            issuers.append(own)
        return cls(issuers, own_issuer=own.name if own is not None else None, **kwargs)

    def _fresh(self, claims: dict[str, Any]) -> bool:
        """Expiry and issue time against our clock (PyJWT checked them against the wall clock too)."""
        now = self.clock()
        try:
            expires, issued = float(claims["exp"]), float(claims["iat"])
            not_before = float(claims.get("nbf", issued))
        except (TypeError, ValueError):
            return False
        return expires > now - LEEWAY_SECONDS and issued <= now + LEEWAY_SECONDS and not_before <= now + LEEWAY_SECONDS

    def _audience_fits(self, claims: dict[str, Any]) -> bool:
        if "aud" not in claims:
            return True
        audience = claims["aud"]
        names = [audience] if isinstance(audience, str) else audience if isinstance(audience, list) else []
        return any(isinstance(name, str) and name.rstrip("/") == self.audience for name in names)

    def _verified_claims(self, token: str) -> tuple[Issuer, dict[str, Any]] | None:
        """The issuer and claims of a token whose signature verifies and which is valid now."""
        if len(token) > MAX_TOKEN_CHARS:
            return None
        with self._lock:
            verified = self._verified.get(token)
            if verified is not None:
                self._verified.move_to_end(token)
        if verified is None:
            verified = self._signed_claims(token)
            if verified is None:
                return None
            with self._lock:
                self._verified[token] = verified
                while len(self._verified) > VERIFIED_CACHE:
                    self._verified.popitem(last=False)
        return verified if self._fresh(verified[1]) else None

    def _signed_claims(self, token: str) -> tuple[Issuer, dict[str, Any]] | None:
        """What depends on the token alone: the signature of a trusted issuer, required claims, audience."""
        peeked = peek(token)
        if peeked is None:
            return None
        header, unverified = peeked
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
        if not self._audience_fits(claims) or not isinstance(claims["sub"], str) or not claims["sub"].strip():
            return None
        return issuer, claims

    def _live(self, candidates: list[OwnVisa]) -> set[str]:
        """The ids of this node's visas whose grants are live; none when that cannot be known."""
        if self.live_visas is None or not candidates:
            return set()
        try:
            return self.live_visas(candidates)
        except Exception:  # fail closed: a grant we cannot confirm is no grant
            LOG.warning("cannot check %d visa(s) of this node; refusing them", len(candidates), exc_info=True)
            return set()

    def _grant(self, passport_issuer: Issuer, subject: str, visa_token: object) -> tuple[OwnVisa, bool] | None:
        """What one visa of a passport grants, and whether this node issued it (then liveness decides)."""
        if not isinstance(visa_token, str):
            return None
        checked = self._verified_claims(visa_token)
        if checked is None:
            return None
        visa_issuer, visa = checked
        body = visa.get(VISA_CLAIM)
        if visa["sub"] != subject or not isinstance(body, dict) or PASSPORT_CLAIM in visa:
            return None
        if body.get("type") != CONTROLLED_ACCESS or not isinstance(body.get("value"), str) or body.get("conditions"):
            return None
        dataset = dataset_of_visa(body["value"], self.datasets_url)
        if dataset is None:
            return None
        grant = OwnVisa(visa_id=str(visa.get("jti", "")), subject=subject, dataset_id=dataset)
        if visa_issuer.name != self.own_issuer:
            return grant, False
        if passport_issuer.name != self.own_issuer or not grant.visa_id:
            return None
        return grant, True

    def resolve(self, authorization: str | None, address: str = "unknown") -> Requester:
        """The requester a ``Authorization: Bearer <passport>`` header proves; public when it proves nothing."""
        try:
            return self._resolve(authorization, address)
        except Exception:  # resolution never fails: an unforeseen token shape costs access, not an error page
            LOG.warning("passport resolution failed; answering as public", exc_info=True)
            return Requester.anonymous(address)

    def _resolve(self, authorization: str | None, address: str) -> Requester:
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
        visas = claims.get(PASSPORT_CLAIM)
        if not isinstance(visas, list) or VISA_CLAIM in claims:
            return anonymous  # a visa, or a token of another kind, is not a passport
        subject = str(claims["sub"])
        grants: list[OwnVisa] = []
        own: list[OwnVisa] = []
        for visa_token in visas[:MAX_VISAS]:
            found = self._grant(issuer, subject, visa_token)
            if found is not None:
                (own if found[1] else grants).append(found[0])
        if own:  # one question to the registry for all of this node's visas
            live = self._live(own)
            grants.extend(grant for grant in own if grant.visa_id in live)
        datasets = {grant.dataset_id for grant in grants}
        visa_ids = [grant.visa_id for grant in grants if grant.visa_id]
        # The operator's word on a national broker's users outweighs the broker's per-passport claim.
        country = country_code(issuer.country) or country_code(claims.get("country"))
        return Requester(
            identity=f"{issuer.name}#{subject}",
            tier=Tier.CONTROLLED if datasets else Tier.REGISTERED,
            country=country,
            controlled_datasets=frozenset(datasets),
            visa_ids=tuple(visa_ids),
        )
