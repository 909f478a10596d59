"""The hybrid statement as it was before BM25 was made fast (git: rag/index/postgres/search.py
before the pgfast branch), kept so bench/postgres.py times old and new in the same run.

It decompressed each candidate's ``tf`` once per query term, cross-joined the one-row
``stats`` CTE (the planner materialised every candidate under it) and computed the lexical
candidates' BM25 twice. Same results as the current statement (tests/test_postgres.py).
"""

from __future__ import annotations

from rag.index.postgres.view import PostgresIndex


_TERMS = """
q AS (SELECT to_tsvector('simple', %(lexemes)s) AS v),
stats AS (SELECT n_chunks, greatest(n_tokens::float8 / greatest(n_chunks, 1), 1e-9) AS avgdl FROM rag_manifest),
terms AS (SELECT u.lexeme AS term, t.df,
                 cardinality(u.positions) * ln(1 + (stats.n_chunks - t.df + 0.5) / (t.df + 0.5)) AS idf
          FROM q, unnest(q.v) u JOIN rag_terms t ON t.term = u.lexeme, stats)"""

_LEXICAL = """
picked AS (SELECT term FROM (SELECT term, df, sum(df) OVER (ORDER BY df, term) AS running FROM terms) r
           WHERE running - df < %(pool)s),
tsq AS (SELECT string_agg(quote_literal(term), ' | ')::tsquery AS query FROM picked),
lex AS (SELECT c.id FROM rag_chunks c, tsq, stats WHERE c.tsv @@ tsq.query
        ORDER BY {bm25} DESC, c.id LIMIT %(n)s)"""

_DENSE = """
dense AS (SELECT id FROM rag_chunks ORDER BY embedding <=> %(qvec)s LIMIT %(n)s)"""

_BM25 = """(SELECT coalesce(sum(terms.idf * x.tf / (x.tf + %(k1)s * (1 - %(b)s + %(b)s * c.n_tokens / stats.avgdl))), 0)
            FROM terms, LATERAL (SELECT (c.tf ->> terms.term)::float8 AS tf) x WHERE x.tf IS NOT NULL)"""

_SELECT = """
SELECT c.id, c.chunk_id, c.doc_id, c.text, c.start_char, c.end_char, c.source, c.title, c.page,
       1 - (c.embedding <=> %(qvec)s) AS cosine, {bm25} AS bm25
FROM rag_chunks c, stats
WHERE c.id = ANY(ARRAY({ids}))
ORDER BY c.id"""


def _candidates_sql(mode: str, has_terms: bool) -> str:
    """The statement for ``mode`` (hybrid, dense, bm25); without query terms, dense only."""
    parts, ids = [_TERMS], []
    if mode in ("hybrid", "dense"):
        parts.append(_DENSE)
        ids.append("SELECT id FROM dense")
    if has_terms and mode in ("hybrid", "bm25"):
        parts.append(_LEXICAL.format(bm25=_BM25))
        ids.append("SELECT id FROM lex")
    if not ids:
        return ""
    return "WITH " + ",".join(parts) + _SELECT.format(ids=" UNION ".join(ids), bm25=_BM25)


class PreviousSqlIndex(PostgresIndex):
    """The store's reads with the previous statement."""

    statement = staticmethod(_candidates_sql)
