"""Answer composition knobs, with the measurements behind each default: ``Settings.answer``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class AnswerOptions:
    """Answer composition knobs (the variants measured in the notes)."""

    prompt_passages: int = 1
    """Passages shown to the model. One: gemma-3-270m answers 0.42 of 40 SQuAD questions
    from the top passage, 0.12 when shown the top three (cut to 50 words each)."""
    prompt_words: int = 60
    """Words kept per passage in the completion prompt (around the best sentences)."""
    chat_passages: int = 5
    """Passages shown to a chat model, which can use them all."""
    evidence_passages: int = 3
    """Passages whose sentences compete to be the evidence sentence."""
    short_tokens: int = 24
    use_model: bool = True
    answer_bonus: float = 0.3
    """Added to a sentence's score when it contains the verified short answer. On 120 SQuAD
    questions: 0 -> 0.683 answer_match, 0.2/0.3 -> 0.725, 0.5 -> 0.708, 1.0 -> 0.692."""
    rank_weight: float = 0.3
    """Weight of the passage's fused retrieval score (relative to the best) in sentence choice."""
    min_sentence_words: int = 0
    """When the evidence sentence is shorter than this, the next sentence is added."""
    max_short_words: int = 12
    sentence_dense_weight: float = 0.75
    """Weight of the question-sentence cosine (MiniLM) in sentence choice. On 500 SQuAD
    questions (seed 0): 0 -> 0.710 answer_match, 0.5 -> 0.736, 0.75 -> 0.740."""
    local_idf: bool = True
    """Weight question words by how few candidate sentences contain them."""
    pair_weight: float = 0.5
    """Weight of the share of the question's adjacent word pairs the sentence repeats
    (:func:`rag.text.word_pairs`)."""
    context_weight: float = 0.25
    """Question words found only in the previous sentence of the same passage count this much
    (relative to words in the sentence): the sentence goes on about what that one named."""
    heading_weight: float = 1.0
    """Question words found in the heading of a sentence's section ("asn1 dup node" above
    "Returns: Return NULL on failure.") count this much (relative to words in the sentence);
    the heading itself is no evidence (:func:`rag.answer.ranking.is_heading`). 0 turns
    headings back into ordinary sentences."""
    type_bonus: float = 0.2
    """Added when a how-many/when question meets a sentence holding a number/date
    (:mod:`rag.answer_type`).

    Pairs, previous sentence and number/date, measured on two 500-question samples of
    squad-dev-half-a (seed 0 / seed 1; the same cached model replies for every variant),
    answer_match: none of them 0.738 / 0.694; pairs alone 0.740 / 0.704; previous sentence
    alone 0.742 / 0.700; number/date alone 0.744 / 0.694; all three 0.754 / 0.708 (words p50
    32, citations all valid, refusals unchanged). In a faster simulation of the composition
    every nearby setting (pairs 0.3-0.6, context 0.15-0.35, type 0.1-0.3) beat none-of-them on
    both samples (0.738-0.750 / 0.700-0.708 against 0.732 / 0.692); a who/where bonus (for a
    capitalised word) changed nothing.
    """
    support_threshold: float = 0.6
    """A sentence is supported by a passage when at least this share of its content words is
    in it (and all its numbers are)."""
    budget_words: int = 35
    """When > 0, the next best evidence sentence is added if the answer stays within this
    many words."""
    max_words: int = 35
    """Hard cap on the answer's words (:mod:`rag.answer.budget`): a longer first sentence is
    cut around the short answer."""
    cut_words: int = 28
    """Words of an answer whose first sentence had to be cut (a whole sentence may use up to
    ``max_words``). Cut to the cap, half of the answers on a SQuAD sample were exactly 35 words
    (median 35, issue 13 asks for at most 30)."""

