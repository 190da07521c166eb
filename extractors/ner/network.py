"""The NER network: the encoder with one BIO head per corpus and optional input features.

Kept apart from :mod:`extractors.ner.model` (loading, batching, decoding) because the trainer
builds and resumes it layer by layer (:meth:`hidden_after` / :meth:`forward_from`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from extractors.ner.decode import bio_tags
from extractors.errors import ModelNotFoundError
from extractors.ner.features import FEATURE_DIM, feature_sizes
from extractors.transformer import quiet_hf, resolve_base

def head_module_name(head: str) -> str:
    """Attribute name of a head (corpus names may contain ``-``, attribute names may not)."""
    return "head_" + head.replace("-", "_")


def feature_module_name(feature: str) -> str:
    """Attribute name of a feature's embedding table (see :mod:`extractors.ner.features`)."""
    return "feat_" + feature


def build_network(
    base: str, heads: Mapping[str, Sequence[str]], *, dropout: float = 0.1, features: Sequence[str] = ()
) -> Any:
    """The encoder (resolved from ``base``) with one ``Linear`` BIO head per entry of ``heads``.

    ``features`` (names of :data:`extractors.ner.features.FEATURES`) adds one small embedding
    table per feature, whose vectors are concatenated to the encoder output before the heads;
    the forward methods then need ``features={name: ids}`` (per-token ids, like ``input_ids``).
    """
    import torch

    sizes = feature_sizes(features)
    from transformers import AutoModel

    try:
        with quiet_hf():
            encoder = AutoModel.from_pretrained(resolve_base(base), add_pooling_layer=False)
    except OSError as exc:
        raise ModelNotFoundError(f"cannot load base model {base!r}: {exc}") from exc

    class TokenHeads(torch.nn.Module):
        """Shared encoder + per-corpus token-classification heads."""

        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder
            self.dropout = torch.nn.Dropout(dropout)
            self.features = tuple(sizes)
            for feature, size in sizes.items():
                setattr(self, feature_module_name(feature), torch.nn.Embedding(size, FEATURE_DIM, padding_idx=0))
            width = encoder.config.hidden_size + FEATURE_DIM * len(sizes)
            for name, labels in heads.items():
                setattr(self, head_module_name(name), torch.nn.Linear(width, len(bio_tags(labels))))

        def forward(
            self, input_ids: Any, attention_mask: Any, heads: Sequence[str], features: Mapping[str, Any] | None = None
        ) -> dict[str, Any]:
            hidden = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
            return self._heads(self.dropout(hidden), heads, features)

        def _heads(self, hidden: Any, heads: Sequence[str], features: Mapping[str, Any] | None) -> dict[str, Any]:
            if self.features:
                if features is None or any(f not in features for f in self.features):
                    raise ValueError(f"this network needs the input features {list(self.features)}")
                hidden = torch.cat(
                    [hidden, *(getattr(self, feature_module_name(f))(features[f]) for f in self.features)], dim=-1
                )
            return {h: getattr(self, head_module_name(h))(hidden) for h in heads}

        def hidden_after(self, input_ids: Any, attention_mask: Any, layer: int) -> Any:
            """Hidden states after the embeddings and the first ``layer`` encoder blocks."""
            hidden = self.encoder.embeddings(input_ids=input_ids)
            return self._blocks(hidden, attention_mask, 0, layer)

        def _blocks(self, hidden: Any, attention_mask: Any, first: int, last: int | None) -> Any:
            from transformers.masking_utils import create_bidirectional_mask

            mask = create_bidirectional_mask(config=encoder.config, inputs_embeds=hidden, attention_mask=attention_mask)
            for block in self.encoder.encoder.layer[first:last]:
                hidden = block(hidden, mask)
            return hidden

        def forward_from(
            self,
            hidden: Any,
            attention_mask: Any,
            heads: Sequence[str],
            layer: int,
            features: Mapping[str, Any] | None = None,
        ) -> dict[str, Any]:
            """:meth:`forward` resumed from :meth:`hidden_after` ``(..., layer)``."""
            hidden = self.dropout(self._blocks(hidden, attention_mask, layer, None))
            return self._heads(hidden, heads, features)

    return TokenHeads()
