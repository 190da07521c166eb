"""medkg's critical drug-drug interaction rules: class-level, graded, with mechanism and management.

The other interaction sources leave whole classes of dangerous combinations out: DDInter's files
cover only drugs in ATC groups A, B, D, H, L, P, R and V (no digoxin + amiodarone, no tramadol +
sertraline), and the public lists are narrow. This source states them as **rules over drug
classes** ("PDE5 inhibitors + organic nitrates: Contraindicated"), **hand-curated for medkg**
from FDA prescribing information (Contraindications, Boxed Warning, Drug Interactions sections),
FDA Drug Safety Communications, the AGS 2023 Beers Criteria drug-drug interaction table,
Phansalkar et al. 2012 (ONC high-priority list) and Malone et al. 2004. It ships with the
package (``loaders/curated/data/critical_interactions.tsv``, CC0 1.0). Review before clinical use.

One tab-separated row per rule (``#`` lines before the header are comments): ``rule_id,
class_a, members_a, class_b, members_b, severity, interaction_type, mechanism, effect,
management, reference``. Members are ``DRUGBANK:DB00203 Sildenafil`` items separated by ``"; "``
(the drug dictionary's id and name of the active moiety); a same-class rule lists the class on
both sides. Each rule states ``INTERACTS_WITH`` for every pair of a member of A and a different
member of B, with ``severity`` (Contraindicated / Major / Moderate, the top of the graph's one
scale, :func:`schema.model.severity_scale`), ``interaction_type`` (the DDI-2013 type: ``mechanism``
for pharmacokinetic rules, ``effect`` for pharmacodynamic ones) and ``mechanism``.

A pair several rules state (sildenafil + nitroglycerin in one rule, clarithromycin + pimozide in
a CYP3A4 rule and a QT rule) becomes one relation per unordered pair, like the public lists: the
most severe rule's grade, type and mechanism (the first such rule in the file on a tie), every
rule id in the evidence property ``rules``, and an evidence sentence naming each rule with its
effect, management and reference. Documents group pairs by the lower DrugBank number,
:data:`BUCKET_WIDTH` numbers per document (``critical:DB:000006``), so editing one rule rewrites
only the documents of its pairs.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from loaders._common import OnError, report
from loaders.curated._common import (
    LoadReport,
    count_document,
    curated_document,
    name_mentions,
    relation,
    require,
    table_rows,
)
from schema.model import severity_scale
from schema.records import Document, EntityType, Mention

SOURCE = "critical"
LICENCE = "CC0 1.0 (hand-curated for medkg)"
FILE = "critical_interactions.tsv"
BUCKET_WIDTH = 100
SEVERITIES = ("Contraindicated", "Major", "Moderate")
"""The grades a rule may give: a rule states a clinically important interaction, so the scale's
lower levels (Minor, Unknown) have no place here."""
INTERACTION_TYPES = ("mechanism", "effect")
"""DDI-2013 types: ``mechanism`` (pharmacokinetic) and ``effect`` (pharmacodynamic); ``advise``
and ``int`` describe sentences, not rules."""
COLUMNS = ("rule_id", "class_a", "members_a", "class_b", "members_b", "severity", "interaction_type", "mechanism",
           "effect", "management", "reference")
_TEXT_COLUMNS = ("class_a", "class_b", "mechanism", "effect", "management", "reference")
_RULE_ID = re.compile(r"[A-Z0-9]+(?:-[A-Z0-9]+)*")
_MEMBER = re.compile(r"(DRUGBANK:DB\d{5}) (\S.*)")


@dataclass(frozen=True)
class Rule:
    """One row of the table: every member of ``members_a`` interacts with every other member of
    ``members_b``; members are (CURIE, name) in the file's order."""

    id: str
    line: int
    class_a: str
    members_a: tuple[tuple[str, str], ...]
    class_b: str
    members_b: tuple[tuple[str, str], ...]
    severity: str
    interaction_type: str
    mechanism: str
    effect: str
    management: str
    reference: str

    def pairs(self) -> set[tuple[str, str]]:
        """The unordered pairs the rule states, as (lower id, higher id); never a drug with itself."""
        return {(a, b) if a < b else (b, a) for a, _ in self.members_a for b, _ in self.members_b if a != b}

    def statement(self) -> str:
        """The rule as one evidence clause: id, classes, grade, effect, management, reference."""
        return (f"{self.severity} (critical rule {self.id}: {self.class_a} + {self.class_b}): {self.effect}; "
                f"mechanism: {self.mechanism}; management: {self.management}; reference: {self.reference}")


def default_path() -> Path:
    return Path(__file__).resolve().parent / "data" / FILE


def _members(column: str, value: str) -> tuple[tuple[str, str], ...]:
    items = [item.strip() for item in value.split(";")]
    if not any(items):
        raise ValueError(f"{column} is empty")
    out: list[tuple[str, str]] = []
    for item in items:
        match = _MEMBER.fullmatch(item)
        if match is None:
            raise ValueError(f"{column} item {item[:60]!r} is not 'DRUGBANK:DB00000 name'")
        if any(curie == match.group(1) for curie, _ in out):
            raise ValueError(f"{column} lists {match.group(1)} twice")
        out.append((match.group(1), match.group(2).strip()))
    return tuple(out)


def _parse(line: int, row: dict[str, str]) -> Rule:
    rule_id = row["rule_id"].strip()
    if not _RULE_ID.fullmatch(rule_id):
        raise ValueError(f"rule_id {rule_id[:40]!r} must be upper-case letters and digits joined by hyphens")
    empty = [c for c in _TEXT_COLUMNS if not row[c].strip()]
    if empty:
        raise ValueError(f"empty {', '.join(empty)}")
    severity, kind = row["severity"].strip(), row["interaction_type"].strip()
    if severity not in SEVERITIES:
        raise ValueError(f"severity {severity[:30]!r} is not one of {', '.join(SEVERITIES)}")
    if kind not in INTERACTION_TYPES:
        raise ValueError(f"interaction_type {kind[:30]!r} is not one of {', '.join(INTERACTION_TYPES)}")
    rule = Rule(rule_id, line, row["class_a"].strip(), _members("members_a", row["members_a"]), row["class_b"].strip(),
                _members("members_b", row["members_b"]), severity, kind, row["mechanism"].strip(),
                row["effect"].strip(), row["management"].strip(), row["reference"].strip())
    if not rule.pairs():
        raise ValueError("the rule states no pair (its only member on both sides is the same drug)")
    return rule


def read_rules(
    path: str | os.PathLike[str] | None = None, *, on_error: OnError = None, report_to: LoadReport | None = None
) -> list[Rule]:
    """The table's rules, checked row by row (bad rows raise naming the file and line, or go to
    ``on_error``): ids unique, members well formed, one name per CURIE across the table."""
    root = require(Path(path) if path else default_path(), "critical interaction table")
    file = require(root / FILE if root.is_dir() else root, "critical interaction table")
    rules: dict[str, Rule] = {}
    names: dict[str, tuple[str, int]] = {}
    for line, row in table_rows(file, COLUMNS, on_error=on_error, comment="#", quoted=False):
        if report_to is not None:
            report_to.rows += 1
        try:
            rule = _parse(line, row)
            if rule.id in rules:
                raise ValueError(f"rule_id {rule.id} is already used on line {rules[rule.id].line}")
            here: dict[str, tuple[str, int]] = {}
            for curie, name in (*rule.members_a, *rule.members_b):
                known = names.get(curie) or here.get(curie)
                if known is not None and known[0] != name:
                    raise ValueError(f"{curie} is named {name!r} here but {known[0]!r} on line {known[1]}")
                here.setdefault(curie, (name, line))
        except ValueError as exc:
            report(file, f"line {line}", str(exc), row["rule_id"].strip() or None, on_error)
            continue
        rules[rule.id] = rule
        for curie, name in (*rule.members_a, *rule.members_b):
            names.setdefault(curie, (name, line))
    return list(rules.values())


def read(
    path: str | os.PathLike[str] | None = None,
    *,
    on_error: OnError = None,
    report_to: LoadReport | None = None,
    width: int = BUCKET_WIDTH,
) -> Iterator[Document]:
    """Stream bucketed INTERACTS_WITH documents, one relation per unordered pair (module docstring).

    ``path`` is the TSV or the folder holding it (default: the copy shipped with medkg).
    """
    rules = read_rules(path, on_error=on_error, report_to=report_to)
    names = {curie: name for rule in rules for curie, name in (*rule.members_a, *rule.members_b)}
    stated: dict[tuple[str, str], list[Rule]] = defaultdict(list)
    for rule in rules:
        for pair in rule.pairs():
            stated[pair].append(rule)
    if report_to is not None:
        report_to.merged += sum(len(by) - 1 for by in stated.values())
    buckets: dict[int, list[tuple[str, str]]] = defaultdict(list)
    for pair in stated:
        buckets[int(pair[0].removeprefix("DRUGBANK:DB")) // width].append(pair)
    for bucket in sorted(buckets):
        doc_id = f"{SOURCE}:DB:{bucket:06d}"
        yield count_document(report_to, _document(doc_id, sorted(buckets[bucket]), stated, names))


def _document(doc_id: str, pairs: list[tuple[str, str]], stated: dict[tuple[str, str], list[Rule]],
              names: dict[str, str]) -> Document:
    scale = severity_scale()
    mentions: dict[str, list[Mention]] = {}
    relations = []
    for a, b in pairs:
        by = sorted(stated[(a, b)], key=lambda r: (scale.index(r.severity), r.line))
        top = by[0]
        relations.append(relation(
            "INTERACTS_WITH", (a, EntityType.DRUG), (b, EntityType.DRUG), source=SOURCE,
            properties={"severity": top.severity, "interaction_type": top.interaction_type,
                        "mechanism": top.mechanism, "rules": [r.id for r in by]},
            evidence=f"{names[a]} and {names[b]}: " + " | ".join(r.statement() for r in by),
        ))
        for curie in (a, b):
            if curie not in mentions:
                mentions[curie] = name_mentions(EntityType.DRUG, curie, names[curie], source=SOURCE)
    return curated_document(doc_id, source=SOURCE, title=f"critical DDI rules {doc_id.rsplit(':', 1)[-1]}",
                            mentions=[m for ms in mentions.values() for m in ms], relations=relations)
