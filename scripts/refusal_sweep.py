"""Choose the refusal threshold from data: evidence scores of answerable vs. unanswerable questions.

Answerable: a fixed random sample of SQuAD questions against the full SQuAD index.
Unanswerable: the questions of the sample whose article is NOT in a half index (built from
every second article title: scripts' caller builds it), plus the seed battery's
``expect_refusal`` questions against the seed index. For each threshold we print the
false-refusal rate (answerable refused) and the refusal rate of unanswerable questions.

    python scripts/refusal_sweep.py --full /tmp/idx-squad --half /tmp/idx-squad-half \
        --seed-index embeddings --n 500
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from rag.evaluate.battery import load_battery  # noqa: E402
from rag.config import Settings  # noqa: E402
from rag.index import build_embedder  # noqa: E402
from rag.answer.refusal import evidence  # noqa: E402
from rag.retrieve import Retriever  # noqa: E402
from rag.answer.rewrite import standalone_question  # noqa: E402
from rag.index.store import load  # noqa: E402

SQUAD = "/work/shared/benchmarks/squad-dev-half-a/questions.jsonl"


def scores(index_dir: Path, questions, embedder, label: str = "", dump=None) -> list[float]:
    settings = Settings.from_env(index_dir=index_dir)
    r = Retriever(load(index_dir), embedder, settings)
    out = []
    for q in questions:
        query = standalone_question(q.question, q.history)
        passages = r.search(query, k=5)
        out.append(evidence(query, passages))
        if dump is not None:
            dump.write(json.dumps({"set": label, "id": q.id, "evidence": out[-1],
                                   "cosine": [p.scores["dense"] for p in passages[:3]]}) + "\n")
            dump.flush()
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--full", type=Path, required=True)
    ap.add_argument("--half", type=Path, required=True)
    ap.add_argument("--seed-index", type=Path, required=True)
    ap.add_argument("--seed-battery", type=Path, default=Path("batteries/seed.jsonl"))
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--dump", type=Path, help="write every question's evidence here (JSON Lines)")
    args = ap.parse_args()
    embedder = build_embedder(Settings.from_env())
    qs = load_battery([SQUAD]).questions
    sample = random.Random(0).sample(qs, args.n)
    half_docs = set(load(args.half).documents)
    dump = args.dump.open("w") if args.dump else None
    seed = load_battery([args.seed_battery]).questions
    seed_ans = scores(args.seed_index, [q for q in seed if not q.expect_refusal], embedder, "seed", dump)
    seed_un = scores(args.seed_index, [q for q in seed if q.expect_refusal], embedder, "seed-unans", dump)
    answerable = scores(args.full, sample, embedder, "squad", dump)
    outside = [q for q in sample if not set(q.gold) & half_docs]
    unanswerable = scores(args.half, outside, embedder, "squad-unans", dump)
    print(f"answerable SQuAD n={len(answerable)}, unanswerable (article not indexed) n={len(unanswerable)}, "
          f"seed answerable n={len(seed_ans)}, seed unanswerable n={len(seed_un)}")
    print("threshold  false_refusal  squad_unans_refused  seed_false_refusal  seed_unans_refused")
    for t in [x / 100 for x in range(20, 61, 2)]:
        fr = sum(s < t for s in answerable) / len(answerable)
        ur = sum(s < t for s in unanswerable) / len(unanswerable)
        sfr = sum(s < t for s in seed_ans) / len(seed_ans)
        sur = sum(s < t for s in seed_un) / len(seed_un)
        print(f"{t:9.2f}  {fr:13.3f}  {ur:19.3f}  {sfr:18.3f}  {sur:18.3f}")
    print("seed unanswerable scores:", [round(s, 3) for s in seed_un])
    print("seed answerable min scores:", sorted(round(s, 3) for s in seed_ans)[:5])


if __name__ == "__main__":
    main()
