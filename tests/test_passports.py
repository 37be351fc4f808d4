"""GA4GH passports and visas: what a bearer token proves, and every forgery falling back to public.

The verifier is exercised with real keys (Ed25519 and RSA brokers) and real PyJWT tokens; forged
tokens the library would refuse to make (``alg=none``, HMAC keyed with a public PEM) are built
byte by byte, as an attacker would.
"""

from __future__ import annotations

import base64
import doctest
import hashlib
import hmac
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, generate_private_key
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

import genomed.share.passports as passports_module
import genomed.share.visas as visas_module
from genomed.errors import ConfigurationError
from genomed.share.identity import Tier
from genomed.share.passports import MAX_VISAS, OwnVisa, PassportVerifier
from genomed.share.settings import TrustedBroker

NODE = "https://node.fr"
BROKER = "https://broker.example.org"
RSA_BROKER = "https://rsa-broker.example.org"
NATIONAL = "https://national.se"
DAC = "https://dac.example.org"

PrivateKey = Ed25519PrivateKey | RSAPrivateKey


def pem(key: PrivateKey) -> str:
    return key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode()


@pytest.fixture(scope="module")
def keys() -> dict[str, PrivateKey]:
    return {BROKER: Ed25519PrivateKey.generate(), RSA_BROKER: generate_private_key(65537, 2048),
            NATIONAL: Ed25519PrivateKey.generate(), DAC: Ed25519PrivateKey.generate(),
            "stranger": Ed25519PrivateKey.generate()}


@pytest.fixture(scope="module")
def verifier(keys: dict[str, PrivateKey]) -> PassportVerifier:
    brokers = [TrustedBroker(BROKER, pem(keys[BROKER])), TrustedBroker(RSA_BROKER, pem(keys[RSA_BROKER])),
               TrustedBroker(NATIONAL, pem(keys[NATIONAL]), country="SE"), TrustedBroker(DAC, pem(keys[DAC]))]
    return PassportVerifier.from_brokers(brokers, node_url=NODE)


def algorithm(key: PrivateKey) -> str:
    return "EdDSA" if isinstance(key, Ed25519PrivateKey) else "RS256"


def sign(key: PrivateKey, claims: dict[str, Any]) -> str:
    return jwt.encode(claims, key, algorithm=algorithm(key))


def claims(iss: str, sub: str = "alice", **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"iss": iss, "sub": sub, "iat": now - 10, "exp": now + 600, **extra}


def visa(keys: dict[str, PrivateKey], iss: str = DAC, dataset: str = "DS1", sub: str = "alice",
         **body_extra: Any) -> str:
    body = {"type": "ControlledAccessGrants", "value": f"{NODE}/datasets/{dataset}", "source": iss, "by": "dac",
            "asserted": int(time.time()) - 100, **body_extra}
    return sign(keys[iss], claims(iss, sub, jti=f"v-{dataset}", ga4gh_visa_v1=body))


def passport(keys: dict[str, PrivateKey], visas: list[str] | None = None, iss: str = BROKER,
             **extra: Any) -> str:
    return sign(keys[iss], claims(iss, ga4gh_passport_v1=visas or [], **extra))


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], payload: dict[str, Any], signer: Callable[[bytes], bytes]) -> str:
    """A JWT assembled by hand, signed by ``signer`` over ``header.payload``: how forgeries are made."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    return f"{signing_input}.{b64(signer(signing_input.encode()))}"


def bearer(token: str) -> str:
    return f"Bearer {token}"


# --- what a valid token proves -----------------------------------------------------------------------

def test_a_valid_passport_makes_a_registered_requester(keys: dict[str, PrivateKey],
                                                       verifier: PassportVerifier) -> None:
    requester = verifier.resolve(bearer(passport(keys)), "10.0.0.1")
    assert requester.tier is Tier.REGISTERED
    assert requester.identity == f"{BROKER}#alice"
    assert requester.controlled_datasets == frozenset()


def test_an_rsa_broker_is_trusted_too(keys: dict[str, PrivateKey], verifier: PassportVerifier) -> None:
    assert verifier.resolve(bearer(passport(keys, iss=RSA_BROKER))).tier is Tier.REGISTERED


def test_a_controlled_access_grant_is_controlled_for_exactly_its_dataset(keys: dict[str, PrivateKey],
                                                                         verifier: PassportVerifier) -> None:
    requester = verifier.resolve(bearer(passport(keys, [visa(keys, dataset="DS1")])))
    assert requester.tier is Tier.CONTROLLED
    assert requester.controlled_datasets == frozenset({"DS1"})
    assert requester.tier_for("DS1") is Tier.CONTROLLED
    assert requester.tier_for("DS2") is Tier.REGISTERED
    assert requester.visa_ids == ("v-DS1",)


def test_several_grants_from_several_issuers(keys: dict[str, PrivateKey], verifier: PassportVerifier) -> None:
    requester = verifier.resolve(bearer(passport(keys, [visa(keys, dataset="DS1"),
                                                        visa(keys, iss=BROKER, dataset="DS2")])))
    assert requester.controlled_datasets == frozenset({"DS1", "DS2"})


# --- forged or unusable passports fall back to public --------------------------------------------------

def forged_passports(keys: dict[str, PrivateKey]) -> dict[str, str | None]:
    now = int(time.time())
    valid = claims(BROKER, ga4gh_passport_v1=[visa(keys)])
    stranger = keys["stranger"]
    rsa_key = keys[RSA_BROKER]
    assert isinstance(rsa_key, RSAPrivateKey)
    return {
        "no header": None,
        "empty header": "",
        "alg none": handmade({"alg": "none", "typ": "JWT"}, valid, lambda _: b""),
        "alg none, upper case": handmade({"alg": "None"}, valid, lambda _: b""),
        "HS256 keyed with the Ed25519 broker's public PEM": handmade(
            {"alg": "HS256"}, valid, lambda data: hmac.new(pem(keys[BROKER]).encode(), data, hashlib.sha256).digest()),
        "HS256 keyed with the RSA broker's public PEM": handmade(
            {"alg": "HS256"}, claims(RSA_BROKER, ga4gh_passport_v1=[]),
            lambda data: hmac.new(pem(keys[RSA_BROKER]).encode(), data, hashlib.sha256).digest()),
        "RS256 header on an Ed25519 broker": handmade(
            {"alg": "RS256"}, valid, lambda data: rsa_key.sign(data, padding.PKCS1v15(), hashes.SHA256())),
        "expired": sign(keys[BROKER], {**valid, "iat": now - 7200, "exp": now - 3600}),
        "issued in the future": sign(keys[BROKER], {**valid, "iat": now + 3600, "exp": now + 7200}),
        "not valid before a future time": sign(keys[BROKER], {**valid, "nbf": now + 3600}),
        "no expiry": sign(keys[BROKER], {k: v for k, v in valid.items() if k != "exp"}),
        "no subject": sign(keys[BROKER], {k: v for k, v in valid.items() if k != "sub"}),
        "empty subject": sign(keys[BROKER], {**valid, "sub": " "}),
        "subject not text": sign(keys[BROKER], {**valid, "sub": ["alice"]}),
        "untrusted issuer": sign(stranger, {**valid, "iss": "https://evil.example.org"}),
        "trusted issuer, wrong key": sign(stranger, valid),
        "trusted issuer, RSA key it does not hold": sign(keys[RSA_BROKER], valid),
        "signature of another token": ".".join([*sign(keys[BROKER], valid).split(".")[:2],
                                                passport(keys).split(".")[2]]),
        "tampered payload": (lambda parts: f"{parts[0]}.{b64(json.dumps({**valid, 'sub': 'bob'}).encode())}"
                             f".{parts[2]}")(sign(keys[BROKER], valid).split(".")),
        "audience of another node": sign(keys[BROKER], {**valid, "aud": "https://other.node"}),
        "a visa presented as a passport": visa(keys, iss=BROKER),
        "a passport that is also a visa": sign(keys[BROKER], {**valid, "ga4gh_visa_v1": {"type": "ResearcherStatus"}}),
        "a valid passport, oversized": sign(keys[BROKER], {**valid, "padding": "x" * 70_000}),
        "no passport claim": sign(keys[BROKER], {k: v for k, v in valid.items() if k != "ga4gh_passport_v1"}),
        "garbage": "not-a-jwt",
        "three dots of garbage": "a.b.c",
        "base64 of nonsense": f"{b64(b'[1,2]')}.{b64(b'{}')}.{b64(b'x')}",
        "binary noise": "\x00\xff.\x01.\x02",
        "oversized": "A" * 100_000,
    }


FORGERIES = ["no header", "empty header", "alg none", "alg none, upper case",
             "HS256 keyed with the Ed25519 broker's public PEM", "HS256 keyed with the RSA broker's public PEM",
             "RS256 header on an Ed25519 broker", "expired", "issued in the future", "not valid before a future time",
             "no expiry", "no subject", "empty subject", "subject not text", "untrusted issuer",
             "trusted issuer, wrong key", "trusted issuer, RSA key it does not hold", "signature of another token",
             "tampered payload", "audience of another node", "a visa presented as a passport",
             "a passport that is also a visa", "a valid passport, oversized", "no passport claim", "garbage",
             "three dots of garbage", "base64 of nonsense", "binary noise", "oversized"]


def test_every_forgery_made_is_tried(keys: dict[str, PrivateKey]) -> None:
    assert set(FORGERIES) == set(forged_passports(keys))
    assert set(VISA_FORGERIES) == set(forged_visas(keys))


@pytest.mark.parametrize("forgery", FORGERIES)
def test_a_forged_or_unusable_passport_falls_back_to_public(forgery: str, keys: dict[str, PrivateKey],
                                                           verifier: PassportVerifier) -> None:
    token = forged_passports(keys)[forgery]
    header = None if token is None else bearer(token)
    requester = verifier.resolve(header, "192.0.2.7")
    assert requester.tier is Tier.PUBLIC
    assert requester.identity == "anonymous:192.0.2.7"
    assert requester.controlled_datasets == frozenset()


@pytest.mark.parametrize("header", ["Basic YWxpY2U6c2VjcmV0", "Bearer", "Bearer   ", "Token {token}", "{token}",
                                    "Bearer{token}"])
def test_a_valid_passport_without_the_bearer_scheme_is_public(header: str, keys: dict[str, PrivateKey],
                                                              verifier: PassportVerifier) -> None:
    assert verifier.resolve(header.format(token=passport(keys))).tier is Tier.PUBLIC


def test_the_bearer_scheme_is_case_insensitive(keys: dict[str, PrivateKey], verifier: PassportVerifier) -> None:
    assert verifier.resolve(f"bearer {passport(keys)}").tier is Tier.REGISTERED


def test_an_audience_naming_this_node_is_accepted(keys: dict[str, PrivateKey], verifier: PassportVerifier) -> None:
    assert verifier.resolve(bearer(passport(keys, aud=[NODE + "/", "https://x"]))).tier is Tier.REGISTERED


# --- forged or unusable visas grant nothing, the passport stays registered -----------------------------

def forged_visas(keys: dict[str, PrivateKey]) -> dict[str, str]:
    now = int(time.time())
    good = jwt.decode(visa(keys), options={"verify_signature": False})
    return {
        "another subject": visa(keys, sub="bob"),
        "untrusted issuer": sign(keys["stranger"], {**good, "iss": "https://evil.example.org"}),
        "trusted issuer, wrong key": sign(keys["stranger"], good),
        "alg none": handmade({"alg": "none"}, good, lambda _: b""),
        "HS256 keyed with the DAC's public PEM": handmade(
            {"alg": "HS256"}, good, lambda data: hmac.new(pem(keys[DAC]).encode(), data, hashlib.sha256).digest()),
        "expired": sign(keys[DAC], {**good, "iat": now - 7200, "exp": now - 3600}),
        "issued in the future": sign(keys[DAC], {**good, "iat": now + 3600}),
        "another node's dataset": sign(keys[DAC], {**good, "ga4gh_visa_v1": {
            **good["ga4gh_visa_v1"], "value": "https://evil.fr/datasets/DS1"}}),
        "a look-alike host": sign(keys[DAC], {**good, "ga4gh_visa_v1": {
            **good["ga4gh_visa_v1"], "value": f"{NODE}.evil.org/datasets/DS1"}}),
        "path traversal": sign(keys[DAC], {**good, "ga4gh_visa_v1": {
            **good["ga4gh_visa_v1"], "value": f"{NODE}/datasets/other/../DS1"}}),
        "another visa type": sign(keys[DAC], {**good, "ga4gh_visa_v1": {
            **good["ga4gh_visa_v1"], "type": "AffiliationAndRole"}}),
        "conditions we do not evaluate": visa(keys, conditions=[[{"type": "AffiliationAndRole",
                                                                  "value": "const:faculty@uni.se"}]]),
        "no visa body": sign(keys[DAC], {k: v for k, v in good.items() if k != "ga4gh_visa_v1"}),
        "a passport nested as a visa": passport(keys, [visa(keys)], iss=DAC),
        "not a string": json.dumps(good),
    }


VISA_FORGERIES = ["another subject", "untrusted issuer", "trusted issuer, wrong key", "alg none",
                  "HS256 keyed with the DAC's public PEM", "expired", "issued in the future", "another node's dataset",
                  "a look-alike host", "path traversal", "another visa type", "conditions we do not evaluate",
                  "no visa body", "a passport nested as a visa", "not a string"]


@pytest.mark.parametrize("forgery", VISA_FORGERIES)
def test_a_forged_or_unusable_visa_grants_nothing(forgery: str, keys: dict[str, PrivateKey],
                                                  verifier: PassportVerifier) -> None:
    forged = forged_visas(keys)[forgery]
    visas: list[Any] = [{"jwt": forged}] if forgery == "not a string" else [forged]
    requester = verifier.resolve(bearer(passport(keys, visas)))
    assert requester.tier is Tier.REGISTERED
    assert requester.controlled_datasets == frozenset()
    assert requester.tier_for("DS1") is Tier.REGISTERED


def test_only_the_first_visas_of_a_huge_passport_are_read(keys: dict[str, PrivateKey],
                                                          verifier: PassportVerifier) -> None:
    padding = [visa(keys, sub="bob")] * MAX_VISAS
    assert verifier.resolve(bearer(passport(keys, [*padding, visa(keys)]))).tier is Tier.REGISTERED
    assert verifier.resolve(bearer(passport(keys, [*padding[1:], visa(keys)]))).tier is Tier.CONTROLLED


# --- country ---------------------------------------------------------------------------------------

def test_country_comes_from_the_passport_claim(keys: dict[str, PrivateKey], verifier: PassportVerifier) -> None:
    assert verifier.resolve(bearer(passport(keys, country="de"))).country == "DE"
    assert verifier.resolve(bearer(passport(keys))).country is None
    assert verifier.resolve(bearer(passport(keys, country="Germany"))).country is None


def test_a_national_brokers_configured_country_outweighs_its_claim(keys: dict[str, PrivateKey],
                                                                   verifier: PassportVerifier) -> None:
    assert verifier.resolve(bearer(passport(keys, iss=NATIONAL))).country == "SE"
    assert verifier.resolve(bearer(passport(keys, iss=NATIONAL, country="FR"))).country == "SE"


# --- this node's own visas ---------------------------------------------------------------------------

class Grants:
    """A registry of live grants that records what it is asked: the liveness hook's contract."""

    def __init__(self, live: set[tuple[str, str, str]]) -> None:
        self.live = live
        self.asked: list[list[tuple[str, str, str]]] = []

    def __call__(self, visas: Sequence[OwnVisa]) -> set[str]:
        asked = [(v.visa_id, v.subject, v.dataset_id) for v in visas]
        self.asked.append(asked)
        return {visa_id for visa_id, subject, dataset in asked if (visa_id, subject, dataset) in self.live}


def own_verifier(keys: dict[str, PrivateKey], node_key: Ed25519PrivateKey,
                 liveness: Callable[[Sequence[OwnVisa]], set[str]] | None) -> PassportVerifier:
    own = passports_module.Issuer(NODE, node_key.public_key())
    return PassportVerifier.from_brokers([TrustedBroker(BROKER, pem(keys[BROKER]))], own=own, node_url=NODE,
                                         live_visas=liveness)


def test_own_visas_count_only_while_the_grant_is_live(keys: dict[str, PrivateKey]) -> None:
    node_key = Ed25519PrivateKey.generate()
    node_keys = {**keys, NODE: node_key}
    grants = Grants({("v-DS1", "alice", "DS1")})
    checked = own_verifier(keys, node_key, grants)
    token = bearer(passport(node_keys, [visa(node_keys, iss=NODE)], iss=NODE))
    assert checked.resolve(token).controlled_datasets == frozenset({"DS1"})
    assert grants.asked == [[("v-DS1", "alice", "DS1")]]
    grants.live.clear()  # revoked
    assert checked.resolve(token).tier is Tier.REGISTERED


def test_one_liveness_question_per_passport(keys: dict[str, PrivateKey]) -> None:
    node_key = Ed25519PrivateKey.generate()
    node_keys = {**keys, NODE: node_key}
    grants = Grants({("v-DS2", "alice", "DS2")})
    own = [visa(node_keys, iss=NODE, dataset=d) for d in ("DS1", "DS2")]
    requester = own_verifier(keys, node_key, grants).resolve(bearer(passport(node_keys, own, iss=NODE)))
    assert requester.controlled_datasets == frozenset({"DS2"})
    assert grants.asked == [[("v-DS1", "alice", "DS1"), ("v-DS2", "alice", "DS2")]]


def test_own_visas_without_a_liveness_check_or_a_visa_id_grant_nothing(keys: dict[str, PrivateKey]) -> None:
    node_key = Ed25519PrivateKey.generate()
    node_keys = {**keys, NODE: node_key}
    assert own_verifier(keys, node_key, None).resolve(
        bearer(passport(node_keys, [visa(node_keys, iss=NODE)], iss=NODE))).tier is Tier.REGISTERED
    no_id = jwt.decode(visa(node_keys, iss=NODE), options={"verify_signature": False})
    del no_id["jti"]
    always = own_verifier(keys, node_key, lambda visas: {v.visa_id for v in visas})
    assert always.resolve(bearer(passport(node_keys, [sign(node_key, no_id)], iss=NODE))).tier is Tier.REGISTERED


def test_own_visas_in_another_brokers_passport_grant_nothing(keys: dict[str, PrivateKey]) -> None:
    """Our visas name our local usernames; another broker's "alice" may be someone else."""
    node_key = Ed25519PrivateKey.generate()
    node_keys = {**keys, NODE: node_key}
    checked = own_verifier(keys, node_key, lambda visas: {v.visa_id for v in visas})
    requester = checked.resolve(bearer(passport(node_keys, [visa(node_keys, iss=NODE)], iss=BROKER)))
    assert requester.tier is Tier.REGISTERED


def test_a_failing_liveness_check_fails_closed(keys: dict[str, PrivateKey]) -> None:
    node_key = Ed25519PrivateKey.generate()
    node_keys = {**keys, NODE: node_key}

    def database_down(_: Sequence[OwnVisa]) -> set[str]:
        raise ConnectionError("database unreachable")

    requester = own_verifier(keys, node_key, database_down).resolve(
        bearer(passport(node_keys, [visa(node_keys, iss=NODE)], iss=NODE)), "10.1.1.1")
    assert requester.tier is Tier.REGISTERED


def test_a_verifier_clock_past_the_visa_expiry_refuses_it(keys: dict[str, PrivateKey]) -> None:
    later = PassportVerifier.from_brokers([TrustedBroker(BROKER, pem(keys[BROKER])),
                                           TrustedBroker(DAC, pem(keys[DAC]))],
                                          node_url=NODE, clock=lambda: time.time() + 3600)
    assert later.resolve(bearer(passport(keys, [visa(keys)]))).tier is Tier.PUBLIC


def test_a_token_verified_before_still_expires(keys: dict[str, PrivateKey]) -> None:
    """Verified signatures are remembered; validity in time is judged on every request."""
    now = [time.time()]
    clocked = PassportVerifier.from_brokers([TrustedBroker(BROKER, pem(keys[BROKER])),
                                             TrustedBroker(DAC, pem(keys[DAC]))], node_url=NODE, clock=lambda: now[0])
    short_visa = sign(keys[DAC], {**jwt.decode(visa(keys), options={"verify_signature": False}),
                                  "exp": int(now[0]) + 120})
    token = bearer(passport(keys, [short_visa]))
    assert clocked.resolve(token).tier is Tier.CONTROLLED
    assert clocked.resolve(token).tier is Tier.CONTROLLED
    now[0] += 300  # the visa has expired, the passport (10 minutes) not yet
    assert clocked.resolve(token).tier is Tier.REGISTERED
    now[0] += 600
    assert clocked.resolve(token).tier is Tier.PUBLIC


# --- configuration -----------------------------------------------------------------------------------

def test_an_issuer_configured_twice_is_a_configuration_error(keys: dict[str, PrivateKey]) -> None:
    with pytest.raises(ConfigurationError, match="configured twice"):
        PassportVerifier.from_brokers([TrustedBroker(BROKER, pem(keys[BROKER])),
                                       TrustedBroker(BROKER, pem(keys[DAC]))], node_url=NODE)
    with pytest.raises(ConfigurationError, match="configured twice"):
        PassportVerifier.from_brokers([TrustedBroker(NODE, pem(keys[BROKER]))], node_url=NODE,
                                      own=passports_module.Issuer(NODE, Ed25519PrivateKey.generate().public_key()))


def test_a_broker_key_that_is_not_a_pem_public_key_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="not a PEM public key"):
        PassportVerifier.from_brokers([TrustedBroker(BROKER, "ssh-ed25519 AAAA")], node_url=NODE)


def test_doctests() -> None:
    for module in (passports_module, visas_module):
        assert doctest.testmod(module).failed == 0
