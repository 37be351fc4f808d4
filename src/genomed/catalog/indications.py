"""The node's catalogue of clinical indications, loaded from a TOML file.

A programme publishes its test directory (France's pre-indications, England's National Genomic
Test Directory); each entry names who is eligible for genome sequencing. The file format is the
one shipped in ``genomed/demo/indications.toml``. Loading is an upsert by code: entries missing
from a new release are deactivated, never deleted, because past prescriptions refer to them.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from genomed.access.purpose import Purpose
from genomed.access.roles import Permission
from genomed.catalog.guard import authorize
from genomed.catalog.models import Indication
from genomed.context import NodeContext
from genomed.errors import InputError, NotFoundError

_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")
_HPO = re.compile(r"^HP:\d{7}$")
CATEGORIES = ("rare_disease", "cancer")
FAMILY_STRUCTURES = ("singleton", "duo", "trio", "tumour_normal")
SAMPLE_TYPES = ("germline", "tumour", "normal")


@dataclass(frozen=True)
class IndicationSpec:
    """One validated entry of an indications file."""

    code: str
    name: str
    category: str
    criteria: dict[str, Any] = field(default_factory=dict)


def _require(entry: dict[str, Any], key: str, kind: type, where: str) -> Any:
    if key not in entry:
        raise InputError(f"{where}: missing {key!r}")
    value = entry[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is int):
        raise InputError(f"{where}: {key!r} must be {kind.__name__}")
    return value


def parse_indication(entry: dict[str, Any], where: str) -> IndicationSpec:
    """Check one ``[[indication]]`` table and return it; errors name the entry and the field."""
    code = _require(entry, "code", str, where)
    where = f"{where} ({code})"
    if not _CODE.match(code):
        raise InputError(f"{where}: code must be 2-32 uppercase letters, digits or '-'")
    name = _require(entry, "name", str, where)
    category = _require(entry, "category", str, where)
    if category not in CATEGORIES:
        raise InputError(f"{where}: category must be one of {', '.join(CATEGORIES)}")
    family = entry.get("family_structure", "singleton")
    if family not in FAMILY_STRUCTURES:
        raise InputError(f"{where}: family_structure must be one of {', '.join(FAMILY_STRUCTURES)}")
    samples = entry.get("sample_types", ["germline"])
    if not isinstance(samples, list) or not samples or any(s not in SAMPLE_TYPES for s in samples):
        raise InputError(f"{where}: sample_types must be a non-empty list of {', '.join(SAMPLE_TYPES)}")
    min_age, max_age = entry.get("min_age_years"), entry.get("max_age_years")
    for label, age in (("min_age_years", min_age), ("max_age_years", max_age)):
        if age is not None and (not isinstance(age, int) or isinstance(age, bool) or not 0 <= age <= 130):
            raise InputError(f"{where}: {label} must be a whole number of years between 0 and 130")
    if min_age is not None and max_age is not None and min_age > max_age:
        raise InputError(f"{where}: min_age_years is above max_age_years")
    prior = entry.get("required_prior_tests", [])
    if not isinstance(prior, list) or not all(isinstance(p, str) and p.strip() for p in prior):
        raise InputError(f"{where}: required_prior_tests must be a list of test names")
    min_hpo = entry.get("min_hpo_terms", 0)
    if not isinstance(min_hpo, int) or isinstance(min_hpo, bool) or min_hpo < 0:
        raise InputError(f"{where}: min_hpo_terms must be a whole number ≥ 0")
    suggested = entry.get("suggested_hpo_terms", [])
    bad = [t for t in suggested if not isinstance(t, str) or not _HPO.match(t)]
    if bad:
        raise InputError(f"{where}: not HPO identifiers: {', '.join(map(str, bad))}")
    turnaround = entry.get("turnaround_days", {"routine": 84, "urgent": 14})
    if (not isinstance(turnaround, dict) or set(turnaround) != {"routine", "urgent"}
            or not all(isinstance(v, int) and v > 0 for v in turnaround.values())):
        raise InputError(f"{where}: turnaround_days must be {{ routine = N, urgent = N }} in days")
    criteria: dict[str, Any] = {
        "description": entry.get("description", ""),
        "min_age_years": min_age,
        "max_age_years": max_age,
        "required_prior_tests": prior,
        "min_hpo_terms": min_hpo,
        "suggested_hpo_terms": suggested,
        "family_structure": family,
        "sample_types": samples,
        "gene_panel": entry.get("gene_panel"),
        "turnaround_days": turnaround,
        "criteria": list(entry.get("criteria", [])),
    }
    return IndicationSpec(code=code, name=name, category=category, criteria=criteria)


def read_indications_file(path: Path) -> tuple[str, list[IndicationSpec]]:
    """Parse and check a whole indications file: ``(catalogue version, entries)``."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise InputError(f"indications file not found: {path}") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from exc
    version = document.get("catalogue", {}).get("version")
    if not isinstance(version, str) or not version:
        raise InputError(f"{path}: [catalogue] needs a version")
    entries = document.get("indication")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path}: no [[indication]] entries")
    specs = [parse_indication(entry, f"{path.name} indication #{n}") for n, entry in enumerate(entries, 1)]
    codes = [s.code for s in specs]
    duplicated = sorted({c for c in codes if codes.count(c) > 1})
    if duplicated:
        raise InputError(f"{path}: duplicated indication code(s) {', '.join(duplicated)}")
    return version, specs


def demo_indications_path() -> Path:
    """The realistic catalogue shipped with genomed for demonstrations and tests."""
    return Path(__file__).resolve().parent.parent / "demo" / "indications.toml"


def load_indications(ctx: NodeContext, actor: str, path: Path) -> tuple[str, int, int]:
    """Load a catalogue release: ``(version, entries active, entries deactivated)``."""
    version, specs = read_indications_file(path)
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.MANAGE_INDICATIONS, object_type="indications",
                  object_id=version, purpose=Purpose.ADMINISTRATION)
        existing = {i.code: i for i in session.scalars(select(Indication))}
        for spec in specs:
            row = existing.get(spec.code)
            if row is None:
                session.add(Indication(code=spec.code, name=spec.name, category=spec.category,
                                       criteria=spec.criteria, catalogue_version=version, active=True))
            else:
                row.name, row.category, row.criteria = spec.name, spec.category, spec.criteria
                row.catalogue_version, row.active = version, True
        loaded = {s.code for s in specs}
        retired = [row for code, row in existing.items() if code not in loaded and row.active]
        for row in retired:
            row.active = False
        ctx.audit.record(session, actor=actor, action="indications.load", object_type="indications",
                         object_id=version, purpose=Purpose.ADMINISTRATION,
                         details={"entries": len(specs), "deactivated": len(retired)})
    return version, len(specs), len(retired)


def list_indications(ctx: NodeContext, actor: str, include_inactive: bool = False) -> list[Indication]:
    with ctx.transaction() as session:
        authorize(ctx, session, actor, Permission.VIEW_INDICATIONS, object_type="indications", object_id="*",
                  purpose=Purpose.CARE)
        query = select(Indication).order_by(Indication.category.desc(), Indication.code)
        if not include_inactive:
            query = query.where(Indication.active.is_(True))
        return list(session.scalars(query))


def indication_by_code(session: Any, code: str) -> Indication:
    indication: Indication | None = session.scalar(select(Indication).where(Indication.code == code.strip().upper()))
    if indication is None:
        raise NotFoundError(f"no clinical indication {code!r}; see `genomed indication list`")
    if not indication.active:
        raise NotFoundError(f"clinical indication {code} is no longer in the catalogue")
    return indication
