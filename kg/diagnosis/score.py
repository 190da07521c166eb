"""The diagnosis score: a naive-Bayes log-likelihood ratio per finding, IC-weighted for inexact
matches (Phenomizer's best-match idea), penalising findings a disease is annotated NOT to have.

For a disease D and a patient finding q (an HPO/SYMP/MeSH term, or a set of equivalent terms):

* ``P(q)`` is the fraction of diseases annotated with q or a descendant of q, among the diseases
  annotated in q's vocabulary at all (HPO's, SYMP's, MeSH's), and ``IC(q) = -log P(q)`` (Resnik
  information content over disease annotations, as in Phenomizer). For the background, a
  disease that no SYMP annotation describes is unknown, not negative, for a SYMP term: over all
  indexed diseases a sparse vocabulary's terms would look rare, and strong. (Its likelihood ratio
  is still ``NOISE_RATE`` when it explains none of the finding's equivalent terms.)
  A finding given as a group of same-named terms of several vocabularies is one finding: for its
  exact/implied matches ``P`` is over the union of the members' diseases
  (:meth:`DiagnosisIndex.group_weight`), so a vocabulary few diseases use (SYMP, annotated by
  the Disease Ontology only) does not make its matches look rarer and stronger than HPO's.
* ``f_D(t)`` is the frequency of D's annotation t (HPO frequency; see :func:`effective_frequency`
  for annotations without one), and ``F_D(a)`` the largest ``f_D(t)`` over D's annotations t at or
  below a (the true-path rule: a disease annotated with t has every ancestor of t).
* The match strength ``m(q, D)`` is the best of
    - **exact / implied**: q is an annotation of D or an ancestor of one: ``F_D(q) / P(q)``.
      Under the true-path rule ``P(q | D) = F_D(q)``; the background is ``P(q)``.
    - **specific**: the patient's term is more specific than an annotation t (t an ancestor
      of q): ``f_D(t) / P(t)``. Of the patients with t, the fraction coded with the more
      specific q is estimated by ``P(q)/P(t)``; divided by the background ``P(q)`` that leaves
      ``f_D(t) / P(t) = f_D(t) * exp(IC(t))``. This is Phenomizer's "ancestor match scores
      IC(ancestor)" in likelihood-ratio form.
    - **related**: q and an annotation share an informative common ancestor a (a sibling or
      cousin term, e.g. a mis-coded finding): ``MISCODING_RATE * F_D(a) / P(a)``, only for
      ``IC(a) >= RELATED_MIN_IC``.
* ``LR(q, D) = NOISE_RATE + (1 - NOISE_RATE) * m(q, D)``: a finding may be unrelated to the
  disease (incidental, comorbid, mis-recorded beyond its neighbourhood), so no single finding can
  veto a disease; an unexplained finding costs ``log(NOISE_RATE)`` ~ -1.6.
* **Annotated absent** (LACKS_SYMPTOM, HPO ``NOT``): if D is annotated NOT to have q or an
  ancestor of q, ``LR = NOISE_RATE`` whatever else matched: only noise explains it.
* **Excluded finding x** (the patient explicitly lacks x): ``LR = (1 - (1-NOISE_RATE) F_D(x)) /
  (1 - (1-NOISE_RATE) B(x))`` with ``B(x)`` the mean of ``F_D(x)`` over the diseases annotated in
  x's vocabulary, i.e. the chance a patient of a random disease has x. An obligate feature that is absent costs
  about ``log(NOISE_RATE)`` (less the background term); an absent finding the disease rarely has
  costs next to nothing.

The disease score is ``sum(log LR)`` (natural log) over present and excluded findings: a uniform
prior over the indexed diseases and the naive-Bayes independence assumption. ``posterior`` is
the softmax of the scores over all indexed diseases, a probability only under those assumptions.
Ties are broken by disease id, so rankings are deterministic. :func:`kg.diagnosis.rank.rank_diagnoses`
adds to this, for a disease the free text names, the named log LR and drops the excluded findings
that speak against it (a stated diagnosis stands), and the prior and age/sex fit
(:mod:`kg.diagnosis.prior`).
"""

from __future__ import annotations

import math

NOISE_RATE = 0.2
"""Probability that a reported finding is unrelated to the disease being scored. First set a
priori to 0.05 (an incidental or mis-recorded term among ~10-20 in a phenotype list); raised on
the project's development sets: free-text findings are not such a list (a visit note reports the
findings of every problem the patient has), and under 0.05 each finding a disease does not explain
cost ~3 nats. Sweeps of 2026-12-07 (``bench_notes`` / ``bench_vignettes`` / ``bench_diagnosis
--noise-rate``). At :data:`~kg.diagnosis.rank.NAMED_LOG_LR` 6, rates 0.05 / 0.1 / 0.2 / 0.3 / 0.4 /
0.5 gave ACI-Bench notes top-1/3/10 27/43/60, 30/44/60, 32/46/60, 37/46/60, 37/49/63, 38/49/63 %,
all of it in notes that name a gold diagnosis (those naming none stayed at 11/19/39 %), and rare
vignettes top-10 83 % up to 0.3, 78 % from 0.4; the weaker penalty made the named-disease bonus
relatively stronger, so NAMED_LOG_LR was swept again and lowered to 4. At NAMED_LOG_LR 4, rates
0.15 / 0.2 / 0.3 give common vignettes MRR 0.752 / 0.766 / 0.766 (top-1 65 / 68 / 68 %; 0.739
and 62 % under the old 0.05 and 6), notes 25/38/59, 25/40/59, 25/41/60 %, rare vignettes
unchanged; simulated HPO patients (``bench_diagnosis``) keep their top-10 without noise terms and
gain with them (two random terms, plain HPO index: 93.0 % at 0.05, 95.2 % at 0.2), but the
Disease Ontology + HSDN simulated patients, whose diseases have few weak annotations, lose with
them (two random terms: 95.5 % at 0.05, 92.2 / 91.0 / 90.1 % at 0.15 / 0.2 / 0.3), because a weak
match now separates a disease less from one that does not explain the finding. 0.2 is the
smallest rate tried that reaches the vignettes' best. Chosen on dev sets: optimistic. An
unexplained finding now costs log(0.2) ~ -1.6 nats."""

MISCODING_RATE = 0.1
"""Credit for a sibling/cousin match relative to a match at the common ancestor itself: the
chance that a clinician records a neighbouring term instead of the disease's own. A priori; it
only has to be well below 1 so that exact matches always win over neighbours."""

RELATED_MIN_IC = math.log(2)
"""A common ancestor counts for a 'related' match only when fewer than half of the diseases its
vocabulary annotates are annotated under it; ancestors like 'Phenotypic abnormality' (IC ~ 0) say nothing."""

DEFAULT_FREQUENCY = 0.5
"""Frequency assumed for an annotation without one (HPO annotations from OMIM clinical synopses,
Disease Ontology links): the mean annotated frequency in HPO's phenotype.hpoa (2025-01-16) is
0.52 (median 0.545, the 'Frequent' class midpoint)."""

MIN_FREQUENCY = 0.01
"""Floor for stated frequencies: HPO's 'Very rare' class starts at 1 %; a stated 0 % (HPO
'Excluded') is read as a NOT annotation instead."""

FREQUENT = 0.8
"""An excluded finding the disease has at least this often is reported as contradicting:
HPO's 'Very frequent' class is 80-99 %, 'Obligate' 100 %."""

MAX_EVIDENCE = 5
"""Extracted (non-curated) edges are believed with the noisy-OR of their evidence,
``1 - (1 - best_score) ** min(evidence_count, MAX_EVIDENCE)``; capped because evidence records
of one relation repeat each other (the same claim copied across abstracts) far from independently."""


def effective_frequency(
    *,
    frequency: float | None,
    weight: float | None,
    max_weight: float | None,
    curated: bool,
    best_score: float | None,
    evidence_count: int | None,
) -> tuple[float, bool]:
    """The ``f_D(t)`` used for one HAS_SYMPTOM edge, and whether a frequency was stated.

    Without a stated frequency, an HSDN literature weight is scaled by the disease's largest
    weight (its most co-mentioned symptom counts as always present) and floored at
    ``MIN_FREQUENCY``; without either, ``DEFAULT_FREQUENCY``. Extracted edges are multiplied by
    the belief that the relation holds at all (see ``MAX_EVIDENCE``).
    """
    known = frequency is not None
    if frequency is not None:
        f = min(1.0, max(MIN_FREQUENCY, float(frequency)))
    elif weight is not None and max_weight:
        f = min(1.0, max(MIN_FREQUENCY, float(weight) / max_weight))
    else:
        f = DEFAULT_FREQUENCY
    if not curated:
        score = min(1.0, max(0.0, float(best_score if best_score is not None else 0.0)))
        n = max(1, min(int(evidence_count or 1), MAX_EVIDENCE))
        f *= 1.0 - (1.0 - score) ** n
        f = max(f, MIN_FREQUENCY)
    return f, known


def present_lr(match: float) -> float:
    """``LR(q, D)`` from the match strength ``m(q, D)`` (0 when nothing relates)."""
    return NOISE_RATE + (1.0 - NOISE_RATE) * match


def absent_lr(freq: float, background: float) -> float:
    """``LR(not x, D)`` for a finding the patient explicitly lacks."""
    return (1.0 - (1.0 - NOISE_RATE) * freq) / (1.0 - (1.0 - NOISE_RATE) * background)


def lacks_lr() -> float:
    """LR of a finding the disease is annotated NOT to have: only noise explains it."""
    return NOISE_RATE
