"""Hybrid candidates in one SQL statement: pgvector's HNSW top n and BM25 top n.

The lexical side is real BM25 (the file backend's formula and parameters: Lucene IDF,
k1 1.2, b 0.75) computed in the database over the chunks the GIN index finds for the
query's lexemes, from each chunk's term frequencies (its ``tsvector`` positions), its
length and ``rag_terms``' document frequencies. ``ts_rank_cd`` is not BM25: its scale and
its notion of relevance differ, and it lost hybrid hit@5 when fused (bench/postgres.py).
Both sides score every candidate, so the retriever's fusion is the same as for files.
"""

from __future__ import annotations

K1, B = 1.2, 0.75

_LEXICAL = """
q AS (SELECT to_tsvector('simple', %(lexemes)s) AS v),
qt AS (SELECT u.lexeme AS term, cardinality(u.positions) AS times FROM q, unnest(q.v) u),
terms AS (SELECT qt.term, qt.times * ln(1 + (m.n_chunks - t.df + 0.5) / (t.df + 0.5)) AS idf
          FROM qt JOIN rag_terms t ON t.term = qt.term CROSS JOIN rag_manifest m),
tsq AS (SELECT replace(strip(v)::text, ''' ''', ''' | ''')::tsquery AS query FROM q),
lex_all AS (
  SELECT c.id, sum(terms.idf * cardinality(u.positions)
                   / (cardinality(u.positions) + %(k1)s * (1 - %(b)s + %(b)s * c.n_tokens / m.avgdl))) AS score
  FROM tsq, rag_chunks c CROSS JOIN LATERAL unnest(c.tsv) u
  JOIN terms ON terms.term = u.lexeme
  CROSS JOIN (SELECT greatest(n_tokens::float8 / greatest(n_chunks, 1), 1e-9) AS avgdl FROM rag_manifest) m
  WHERE c.tsv @@ tsq.query
  GROUP BY c.id),
lex AS (SELECT id FROM lex_all ORDER BY score DESC, id LIMIT %(n)s)"""

_DENSE = """
dense AS (SELECT id FROM rag_chunks ORDER BY embedding <=> %(qvec)s LIMIT %(n)s)"""

_SELECT = """
SELECT c.id, c.chunk_id, c.doc_id, c.text, c.start_char, c.end_char, c.source, c.title, c.page,
       1 - (c.embedding <=> %(qvec)s) AS cosine, {bm25} AS bm25
FROM ({ids}) cand JOIN rag_chunks c ON c.id = cand.id {join}
ORDER BY c.id"""


def candidates_sql(mode: str, has_terms: bool) -> str:
    """The statement for ``mode`` (hybrid, dense, bm25); without query terms, dense only."""
    parts, ids = [], []
    if mode in ("hybrid", "dense"):
        parts.append(_DENSE)
        ids.append("SELECT id FROM dense")
    if has_terms:
        parts.append(_LEXICAL)
        if mode in ("hybrid", "bm25"):
            ids.append("SELECT id FROM lex")
    if not ids:
        return ""
    select = _SELECT.format(ids=" UNION ".join(ids),
                            bm25="coalesce(l.score, 0)" if has_terms else "0::float8",
                            join="LEFT JOIN lex_all l ON l.id = c.id" if has_terms else "")
    return "WITH " + ",".join(parts) + select


def params(qvec, lexemes: list[str], n: int) -> dict:
    return {"qvec": qvec, "lexemes": " ".join(lexemes), "n": int(n), "k1": K1, "b": B}
