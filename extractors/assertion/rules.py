"""ConText modifier rules for :mod:`extractors.assertion`: medspaCy's defaults plus our changes.

The base is the rule set that ships with medspaCy 1.3.1 (``resources/en/context_rules.json``,
derived from the original ConText lexicon and years of use at the US VA). Changes are kept as
data here, in medspaCy's own JSON rule format, so the diff against upstream stays readable:

* ``REMOVED``: default rules (by ``literal``) that hurt on clinical notes;
* ``ADDED``: new modifiers, pseudo-modifiers (``PSEUDO`` direction: a longer phrase that stops a
  shorter trigger inside it from firing, e.g. "no increase") and terminators.

The rules live in Python rather than in a ``.json`` file so they ship inside the wheel without a
package-data entry; :func:`write_json` dumps the full set for use with medspaCy's ``ConText``.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

with warnings.catch_warnings():  # medspaCy's import calls warnings.filterwarnings("ignore"); undo that
    from medspacy.context import ConTextRule

# medspaCy categories (the ``category`` of a rule) that carry an assertion.
NEGATED = "NEGATED_EXISTENCE"
POSSIBLE = "POSSIBLE_EXISTENCE"
HYPOTHETICAL = "HYPOTHETICAL"
HISTORICAL = "HISTORICAL"
FAMILY = "FAMILY"
HISTORY_END = "HISTORY_END"
"""Not an assertion: a cue that ends a past-history modifier's scope (a duration that starts
today's illness). Every HISTORICAL rule is ``terminated_by`` it (:func:`context_rules`)."""
X_NEGATIVE = "X negative (clause end)"
CLAUSE_BOUNDED = frozenset({X_NEGATIVE})
"""Rules whose scope stops at the start of their clause (a comma, semicolon, colon, parenthesis,
"and", "or", "with" before them): :class:`~extractors.assertion.component.AssertionEngine`."""
CLAUSE_START = frozenset({",", ";", ":", "(", "and", "or", "with"})

_FAMILY_WORDS = [
    "aunt", "aunts", "brother", "brothers", "child", "children", "cousin", "cousins", "dad", "daughter",
    "daughters", "father", "grandchild", "grandchildren", "granddaughter", "grandfather", "grandmother",
    "grandparent", "grandparents", "grandson", "husband", "mom", "mother", "nephew", "niece", "parent",
    "parents", "partner", "sibling", "siblings", "sister", "sisters", "son", "sons", "spouse", "uncle",
    "uncles", "wife",
]  # medspaCy's FAMILY trigger words, singular and plural as it lists them
_REPORTING_VERBS = [
    "reports", "reported", "states", "stated", "says", "said", "notes", "brought", "brings",
    "accompanies", "accompanied", "feels", "thinks", "believes", "worries", "mentions", "called",
    "noticed", "notices", "describes", "described", "endorses",
]  # active reporting only: "mother was noted to have" or "mother felt a lump" are about the mother
_NEGATIVE = ["negative", "neg", "none", "absent", "denied", "denies"]
_MODALS = ["may", "might", "could", "can"]


def _lit(literal: str, category: str, direction: str, **extra: Any) -> dict[str, Any]:
    return {"literal": literal, "category": category, "direction": direction, **extra}


def _pat(literal: str, category: str, direction: str, pattern: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"literal": literal, "category": category, "direction": direction, "pattern": pattern, **extra}


REMOVED: frozenset[str] = frozenset(
    {
        # Backward ": no" wins (longest match) over forward "no" in "Neuro: No focal deficits" and then
        # negates the section label instead of the finding; replaced by a version that needs the
        # "no" to end its clause ("Fever: no.").
        ": no",
        # Its pattern puts "risks of" in one token, so it can never match; replaced below.
        "risks of",
    }
)

ADDED: tuple[dict[str, Any], ...] = (
    # ---- negation
    _pat("is negative for", NEGATED, "FORWARD",
         [{"LOWER": {"IN": ["is", "was", "are", "were"]}}, {"LOWER": {"IN": ["negative", "neg"]}}, {"LOWER": "for"}]),
    _pat("came back negative", NEGATED, "BACKWARD",
         [{"LOWER": {"IN": ["came", "come", "comes", "coming"]}}, {"LOWER": "back"}, {"LOWER": {"IN": ["negative", "neg"]}}]),
    _pat("tested negative for", NEGATED, "FORWARD",
         [{"LOWER": {"IN": ["tested", "tests", "screened"]}}, {"LOWER": {"IN": ["negative", "neg"]}},
          {"LOWER": "for", "OP": "?"}]),
    # an exam sign reported negative at the head of its sentence or clause ("Negative CVA tenderness",
    # "Exam: negative straight leg raise"); not "HIV negative patient with fever" mid-clause
    _pat("negative (sign, sentence start)", NEGATED, "FORWARD",
         [{"LOWER": {"IN": ["negative", "neg"]}, "IS_SENT_START": True}], max_scope=5),
    _pat("negative (sign, clause start)", NEGATED, "FORWARD",
         [{"ORTH": {"IN": [":", ";", ","]}}, {"LOWER": {"IN": ["negative", "neg"]}},
          {"LOWER": {"NOT_IN": ["for"]}, "OP": "?"}], max_scope=5),
    _pat(": no (clause end)", NEGATED, "BACKWARD", [{"ORTH": ":"}, {"LOWER": {"IN": ["no", *_NEGATIVE]}}, {"IS_PUNCT": True}]),
    _pat(": no (line end)", NEGATED, "BACKWARD", r"(?m):[ \t]*(?:no|none|negative|neg|absent|denie[sd])[ \t]*$"),
    # a test or serology reported negative after its name, at the end of its clause ("hepatitis C
    # negative", "celiac serology negative."); not "HIV negative patient with fever" mid-clause, and
    # never back past the clause's start ("Chest pain, troponin negative": the chest pain stands;
    # :data:`CLAUSE_BOUNDED`)
    _pat(X_NEGATIVE, NEGATED, "BACKWARD", r"\b(?:negative|neg)\b(?=[ \t]*(?:[.,;)]|$))", max_scope=4),
    _pat("unlikely to be", NEGATED, "FORWARD", [{"LOWER": "unlikely"}, {"LOWER": "to"}, {"LOWER": {"IN": ["be", "have"]}}]),
    # ---- pseudo-negations: a longer phrase that contains a trigger but negates nothing
    *(_lit(p, NEGATED, "PSEUDO") for p in (
        "no increase", "no change", "no significant change", "no interval change", "no definite change",
        "no suspicious change", "no further", "not only", "not necessarily", "not extend", "not cause",
        "gram negative", "gram-negative", "without difficulty", "no longer", "not certain if",
    )),
    # ---- uncertainty
    _lit("?", POSSIBLE, "FORWARD", max_scope=6),
    *(_lit(p, POSSIBLE, "FORWARD") for p in (
        "probable", "presumed", "presumably", "suspected", "suspect", "suspicion for", "suspicion of",
        "questionable", "question of", "equivocal for", "concern for", "differential includes",
        "differential diagnosis includes", "differential diagnosis", "raise the possibility of",
        "raises the possibility of", "possibly", "not clear whether", "not clear if", "unclear whether",
        "unclear if", "uncertain whether", "uncertain if", "not sure if", "not sure whether",
    )),
    _lit("vs", POSSIBLE, "BIDIRECTIONAL", max_scope=5),
    _lit("vs.", POSSIBLE, "BIDIRECTIONAL", max_scope=5),
    _lit("versus", POSSIBLE, "BIDIRECTIONAL", max_scope=5),
    _pat("could represent", POSSIBLE, "FORWARD",
         [{"LOWER": {"IN": _MODALS}}, {"LOWER": {"IN": ["represent", "have", "reflect", "indicate", "suggest"]}}]),
    _pat("cannot exclude", POSSIBLE, "FORWARD",
         [{"LOWER": {"IN": ["can", "could", "does", "did"]}}, {"LOWER": {"IN": ["not", "n't"]}},
          {"LOWER": {"IN": ["exclude", "rule"]}}, {"LOWER": "out", "OP": "?"}]),
    _pat("cannot be excluded", POSSIBLE, "BACKWARD",
         [{"LOWER": {"IN": ["can", "could"]}}, {"LOWER": {"IN": ["not", "n't"]}}, {"LOWER": "be"},
          {"LOWER": {"IN": ["excluded", "ruled"]}}, {"LOWER": "out", "OP": "?"}]),
    _pat("not excluded", POSSIBLE, "BACKWARD",
         [{"LOWER": {"IN": ["not", "n't"]}}, {"LOWER": "been", "OP": "?"}, {"LOWER": "excluded"}]),
    # ---- hypothetical / conditional / future
    *(_lit(p, HYPOTHETICAL, "FORWARD") for p in (
        "risk of", "risks of", "risk for", "at risk for", "in case of", "in the event of", "watch for",
        "watch out for", "monitor for", "monitoring for", "look out for", "precautions", "return precautions",
        "side effects", "side effect", "adverse effects", "complications include", "potential complications",
        "possible complications", "can lead to", "could lead to", "may lead to", "can cause", "could cause",
        "prn", "call if",
    )),
    # ---- historical
    *(_lit(p, HISTORICAL, "FORWARD") for p in (
        "prior", "previous", "previously", "status post", "s/p", "remote", "childhood",
        "as a teenager", "as a teen", "as a kid", "in childhood", "stopped taking", "discontinued",
        "no longer taking",
    )),
    *(_lit(p, HISTORICAL, "BACKWARD") for p in ("last year", "a year ago", "in the past")),
    _lit("as a child", HISTORICAL, "BIDIRECTIONAL"),
    _pat("in 2015", HISTORICAL, "BACKWARD",
         [{"LOWER": "in"}, {"IS_TITLE": True, "OP": "?"}, {"SHAPE": "dddd"}]),
    _pat("years ago", HISTORICAL, "BACKWARD",
         [{"LOWER": {"IN": ["several", "many", "few", "couple", "of"]}, "OP": "*"}, {"LIKE_NUM": True, "OP": "?"},
          {"LOWER": {"IN": ["year", "years", "yrs", "decade", "decades"]}}, {"LOWER": "ago"}]),
    _lit("prior to", HISTORICAL, "PSEUDO"),
    # "a two-week history of cough" dates the current illness; it is not past history.
    _pat("2-week history", HISTORICAL, "PSEUDO",
         [{"LIKE_NUM": True}, {"ORTH": "-", "OP": "?"},
          {"LOWER": {"IN": ["day", "days", "week", "weeks", "month", "months", "year", "years"]}},
          {"LOWER": {"IN": ["history", "hx"]}}]),
    _pat("two-week history", HISTORICAL, "PSEUDO",  # scispacy keeps "two-week" as one token
         [{"LOWER": {"REGEX": r"^(\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|few)-"
                              r"(day|week|month|year)s?$"}},
          {"LOWER": {"IN": ["history", "hx"]}}]),
    _lit("history of present illness", HISTORICAL, "PSEUDO"),
    # a duration starts today's illness after a past-history list ("h/o constipation and 3 days of
    # LLQ pain"): the history's scope ends there, and only the history's (HISTORY_END terminates
    # HISTORICAL modifiers alone: "denies 2 days of chest pain" is still a denial)
    _pat("3 days of", HISTORY_END, "PSEUDO",
         [{"LIKE_NUM": True}, {"ORTH": "-", "OP": "?"},
          {"LOWER": {"IN": ["hour", "hours", "day", "days", "week", "weeks", "month", "months"]}},
          {"LOWER": {"IN": ["of", "history"]}}]),
    _pat("two-day history of", HISTORY_END, "PSEUDO",
         [{"LOWER": {"REGEX": r"^(\d+|one|two|three|four|five|six|seven|eight|nine|ten|several|few)-"
                              r"(hour|day|week|month)s?$"}},
          {"LOWER": {"IN": ["of", "history"]}}]),
    # ---- family
    *(_lit(p, FAMILY, "FORWARD") for p in ("fh", "fhx", "family hx", "fam hx")),
    _pat("in his brother", FAMILY, "BACKWARD",
         [{"LOWER": {"IN": ["in", "on"]}}, {"LOWER": {"IN": ["his", "her", "their", "the", "both"]}, "OP": "?"},
          {"LOWER": {"IN": ["maternal", "paternal"]}, "OP": "?"}, {"LOWER": {"IN": _FAMILY_WORDS}},
          {"LOWER": {"IN": ["'s", "'"]}, "OP": "?"}]),
    # A relative who reports or accompanies is not the one with the condition.
    _pat("husband reports", FAMILY, "PSEUDO",
         [{"LOWER": {"IN": _FAMILY_WORDS}}, {"LOWER": {"IN": _REPORTING_VERBS}}]),
    _pat("mother is concerned", FAMILY, "PSEUDO",
         [{"LOWER": {"IN": _FAMILY_WORDS}}, {"LOWER": {"IN": ["is", "was", "are", "were"]}},
          {"LOWER": {"IN": ["concerned", "worried"]}}]),
    # a relative as something the patient talks or worries about, not whose history it is:
    # "worry about work, money and family, with restlessness..." ("and family" not before
    # "history"), "worried about her son"
    _pat("money and family", FAMILY, "PSEUDO",
         [{"LOWER": {"IN": ["and", "or"]}}, {"LOWER": {"IN": ["family", "families"]}},
          {"LOWER": {"NOT_IN": ["history", "hx", "medical", "members", "member", "'s"]}}]),
    _pat("worried about her son", FAMILY, "PSEUDO",
         [{"LOWER": {"IN": ["about", "regarding"]}}, {"LOWER": {"IN": ["his", "her", "their", "the"]}, "OP": "?"},
          {"LOWER": {"IN": [*_FAMILY_WORDS, "family", "families"]}}]),
    _pat("per his wife", FAMILY, "PSEUDO",
         [{"LOWER": "per"}, {"LOWER": {"IN": ["his", "her", "their"]}, "OP": "?"}, {"LOWER": {"IN": _FAMILY_WORDS}}]),
    _pat("presents with her mother", FAMILY, "PSEUDO",
         [{"LOWER": {"IN": ["presents", "presented", "here", "seen", "comes", "came", "accompanied", "brought"]}},
          {"LOWER": "in", "OP": "?"}, {"LOWER": {"IN": ["with", "by"]}},
          {"LOWER": {"IN": ["his", "her", "their"]}, "OP": "?"}, {"LOWER": {"IN": _FAMILY_WORDS}}]),
    # ---- terminators: a semicolon separates clauses as a period would; so does a new verb that
    # asserts something ("denies fever, reports cough", "negative for X, positive for Y").
    _lit(";", NEGATED, "TERMINATE"),
    _pat(", reports", NEGATED, "TERMINATE",
         [{"LOWER": {"IN": [",", "and"]}},
          {"LOWER": {"IN": ["reports", "reported", "endorses", "endorsed", "notes", "noted", "states", "admits",
                            "complains", "has", "had", "is", "was", "presents", "describes"]}}]),
    *(_lit(p, NEGATED, "TERMINATE") for p in ("endorses", "endorsed", "complains of", "complaining of",
                                              "positive for", "admits to")),
    # a list item that opens with a raised measurement is a finding, not one more denied item ("normal
    # strength, no joint swelling, raised ESR"); "increased" is left out: denial lists use it
    # ("denies polyuria, increased thirst")
    _pat(", raised", NEGATED, "TERMINATE", [{"LOWER": ","}, {"LOWER": {"IN": ["raised", "elevated"]}}]),
)


def default_rules_path() -> Path:
    """Where medspaCy keeps its packaged English ConText rules."""
    from medspacy.context import context as _context_module

    return Path(_context_module.__file__).resolve().parents[2] / "resources" / "en" / "context_rules.json"


def rule_dicts() -> list[dict[str, Any]]:
    """The full rule set as medspaCy rule dicts: defaults minus ``REMOVED``, plus ``ADDED``."""
    base = json.loads(default_rules_path().read_text(encoding="utf-8"))["context_rules"]
    kept = [r for r in base if r["literal"] not in REMOVED]
    return kept + [dict(r) for r in ADDED]


def context_rules() -> list[ConTextRule]:
    """Fresh :class:`ConTextRule` objects (a matcher mutates the rules it is given, so never share);
    every HISTORICAL rule is terminated by :data:`HISTORY_END` cues."""
    out = []
    for r in rule_dicts():
        rule = ConTextRule.from_dict(r)
        if rule.category == HISTORICAL and rule.direction.upper() != "PSEUDO":
            rule.terminated_by = {*rule.terminated_by, HISTORY_END}
        out.append(rule)
    return out


def write_json(path: str | Path) -> None:
    """Write the full rule set in medspaCy's format (loadable with ``ConText(rules=path)``)."""
    ConTextRule.to_json(context_rules(), str(path))
