"""Hybrid candidates in one SQL statement: pgvector's HNSW top n and BM25 top n.

The lexical side is real BM25 (the file backend's formula and parameters: Lucene IDF,
k1 1.2, b 0.75) computed in the database from each chunk's term frequencies and length
(generated from its ``tsvector``) and ``rag_terms``' document frequencies. ``ts_rank_cd``
is not BM25: its scale and its notion of relevance differ, and fused with cosine it lost
hit@5 on squad-dev-half-a (bench/postgres.py). Every candidate, dense or lexical, gets
both scores, so the retriever's fusion is the same as for files.

Which chunks BM25 ranks: those the GIN index finds for the query's rarest lexemes, taken
rarest first until their document frequencies add up to ``LEXICAL_POOL`` (the rarest one
always). Below that many matches (any index up to a few thousand chunks) this is every
chunk that shares a lexeme with the query, so the ranking is exact; on large indexes the
common words still count in every candidate's score but don't make chunks candidates.

What made it fast (bench/postgres.py, EXPLAIN ANALYZE at 10,000 and 100,000 chunks): each
chunk's ``tf`` is stored compressed, and every ``tf ->> term`` decompressed it again (nine
query terms, nine decompressions per candidate); now it is decompressed once per candidate
(``tf || '{}'`` in a LATERAL that is not flattened). ``stats`` and ``terms`` are read through
scalar subqueries and materialised CTEs, not cross-joined (the planner put a Materialize of
every candidate under such a join), and the lexical candidates' BM25 is computed once and
reused by the final SELECT, which scores only the dense-only candidates.
"""

from __future__ import annotations

K1, B = 1.2, 0.75
LEXICAL_POOL = 2_000
"""Chunks whose BM25 is computed to pick the lexical top n (bench/postgres.py: p50 at 100,000)."""

_TERMS = """
stats AS MATERIALIZED (SELECT n_chunks, greatest(n_tokens::float8 / greatest(n_chunks, 1), 1e-9) AS avgdl
                       FROM rag_manifest),
terms AS MATERIALIZED (SELECT u.lexeme AS term, t.df, cardinality(u.positions)
                              * ln(1 + ((SELECT n_chunks FROM stats) - t.df + 0.5) / (t.df + 0.5)) AS idf
                       FROM unnest(to_tsvector('simple', %(lexemes)s)) u JOIN rag_terms t ON t.term = u.lexeme)"""

_LEXICAL = """
lex AS MATERIALIZED (
  SELECT c.id, {bm25} AS bm25 FROM rag_chunks c, {tf}
  WHERE c.tsv @@ (SELECT string_agg(quote_literal(term), ' | ')::tsquery
                  FROM (SELECT term, df, sum(df) OVER (ORDER BY df, term) AS running FROM terms) r
                  WHERE running - df < %(pool)s)
  ORDER BY 2 DESC, c.id LIMIT %(n)s)"""

_DENSE = """
dense AS (SELECT id FROM rag_chunks ORDER BY embedding <=> %(qvec)s LIMIT %(n)s)"""

_TF = "LATERAL (SELECT c.tf || '{}'::jsonb AS tf OFFSET 0) d"
"""The chunk's term frequencies decompressed once (OFFSET 0 keeps the planner from inlining
``tf || '{}'`` into every lookup); ``d.tf ->> term`` then reads the plain value."""

_BM25 = """(SELECT coalesce(sum(terms.idf * x.tf / (x.tf + %(k1)s * (1 - %(b)s + %(b)s * c.n_tokens
                                                        / (SELECT avgdl FROM stats)))), 0)
            FROM terms, LATERAL (SELECT (d.tf ->> terms.term)::float8 AS tf) x WHERE x.tf IS NOT NULL)"""

_SELECT = """
SELECT c.id, c.chunk_id, c.doc_id, c.text, c.start_char, c.end_char, c.source, c.title, c.page,
       1 - (c.embedding <=> %(qvec)s) AS cosine, {bm25} AS bm25
FROM rag_chunks c {join}, {tf}
WHERE c.id = ANY(ARRAY({ids}))
ORDER BY c.id"""


def candidates_sql(mode: str, has_terms: bool) -> str:
    """The statement for ``mode`` (hybrid, dense, bm25); without query terms, dense only."""
    parts, ids = [_TERMS], []
    if mode in ("hybrid", "dense"):
        parts.append(_DENSE)
        ids.append("SELECT id FROM dense")
    lexical = has_terms and mode in ("hybrid", "bm25")
    if lexical:
        parts.append(_LEXICAL.format(bm25=_BM25, tf=_TF))
        ids.append("SELECT id FROM lex")
    if not ids:
        return ""
    # a lexical candidate's BM25 comes from lex; only the dense-only ones are scored here
    bm25, join = (f"coalesce(lex.bm25, {_BM25})", "LEFT JOIN lex ON lex.id = c.id") if lexical else (_BM25, "")
    return "WITH " + ",".join(parts) + _SELECT.format(ids=" UNION ".join(ids), bm25=bm25, join=join, tf=_TF)


def params(qvec, lexemes: list[str], n: int) -> dict:
    return {"qvec": qvec, "lexemes": " ".join(lexemes), "n": int(n), "k1": K1, "b": B, "pool": LEXICAL_POOL}
