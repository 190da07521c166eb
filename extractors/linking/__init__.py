"""Entity linking of Drug / Disease / Symptom mentions to CURIEs with an offline knowledge base.

    from extractors.linking import Linker
    linker = Linker.load()                      # default KB: built on first use, then cached
    linker.best("Coumadin", label="Drug")       # LinkCandidate(concept_id='DRUGBANK:DB00682', ...)
    linker.best("SBMA", label="Disease", long_form="spinal and bulbar muscular atrophy")

Modules: :mod:`~extractors.linking.kb` (records, file format), :mod:`~extractors.linking.sources`
(vocabulary readers), :mod:`~extractors.linking.kb_build` (merging, default-KB cache),
:mod:`~extractors.linking.aliases` (train-split alias table), :mod:`~extractors.linking.candidates`
(3-gram TF-IDF nearest neighbours), :mod:`~extractors.linking.linker`, and
:mod:`~extractors.linking.scoring` (id-match scoring on gold corpora).
"""

from extractors.linking.kb_build import build_kb, default_kb, default_kb_path
from extractors.linking.errors import KBFormatError, KBNotFoundError, LinkingError, UnknownLabelError
from extractors.linking.kb import KBEntry, KnowledgeBase
from extractors.linking.linker import DEFAULT_THRESHOLD, LinkCandidate, Linker

__all__ = [
    "DEFAULT_THRESHOLD",
    "KBEntry",
    "KBFormatError",
    "KBNotFoundError",
    "KnowledgeBase",
    "LinkCandidate",
    "Linker",
    "LinkingError",
    "UnknownLabelError",
    "build_kb",
    "default_kb",
    "default_kb_path",
]
