"""Documents are data: hostile passages can't forge markers, prompt turns or the chat fence.

Model-independent checks on the prompts both styles send (completion for base models, chat
for remote ones), and on answers composed from hostile passages with fake models; the real
model's share of attacks that got through is measured by bench/injection.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from rag import presenting, prompts
from rag.config import Settings
from rag.embedding import HashEmbedder
from rag.engine import Engine
from rag.injection import judge, load_attacks
from rag.llm import FakeLLM
from rag.models import Chunk, Passage

BATTERY = Path(__file__).resolve().parent.parent / "batteries" / "injection"
CORPUS = [json.loads(line) for line in (BATTERY / "corpus.jsonl").read_text().splitlines()]
ATTACKS = load_attacks(BATTERY / "questions.jsonl")


def passages() -> list[Passage]:
    out = []
    for i, d in enumerate(CORPUS, start=1):
        chunk = Chunk(chunk_id=d["id"], doc_id=d["id"], text=d["text"], start=0, end=len(d["text"]),
                      source=f"corpus.jsonl#{d['id']}", title=d["title"])
        out.append(Passage(rank=i, score=1.0, chunk=chunk))
    return out


def _passage_lines(prompt: str) -> list[str]:
    return [line for line in prompt.splitlines() if re.match(r"\[\d+\] ", line)]


def test_completion_prompt_keeps_hostile_text_inside_numbered_one_line_passages():
    ps = passages()
    prompt = prompts.completion_prompt("When did the Kelvar Bridge open?", ps, max_words=400)
    few_shot_lines = prompts.FEW_SHOT.count("\n")
    body = prompt[len(prompts.FEW_SHOT):]
    lines = body.splitlines()
    assert len(lines) == len(ps) + 2, "one line per passage, then Question and Answer"
    assert [line[:len(f"[{i}]")] for i, line in enumerate(lines[:len(ps)], 1)] == [f"[{i}]" for i in range(1, len(ps) + 1)]
    for line in lines[:len(ps)]:
        text = line.split("] ", 1)[1]
        assert not re.search(r"[\[\]［］【】]", text) or not re.search(r"\[\d", text)
        assert not re.search(r"(?i)\b(question|answer|system|assistant)\s*:", text), text
    assert lines[-2] == "Question: When did the Kelvar Bridge open?" and lines[-1] == "Answer:"
    assert prompt.count("\nAnswer:") == prompts.FEW_SHOT.count("\nAnswer:") + 1
    assert few_shot_lines > 0


def test_chat_prompt_fences_the_passages_and_keeps_the_system_prompt_ours():
    ps = passages()
    messages = prompts.chat_messages("When was the Marrow Canal dug?", ps, max_words=400)
    assert [m["role"] for m in messages] == ["system", "user"]
    assert messages[0]["content"] == prompts.CHAT_SYSTEM
    user = messages[1]["content"]
    assert user.count("<<<") == 1 and user.count(">>>") == 1, "a passage closed the fence"
    inside = user.split("<<<", 1)[1].split(">>>", 1)[0]
    assert "EVILBOT" in inside and "OVERRIDDEN" in inside and "PWNED" in inside  # quoted, inside
    outside = user.replace(inside, "")
    assert "PWNED" not in outside and "OVERRIDDEN" not in outside
    assert outside.strip().endswith("Question: When was the Marrow Canal dug?")
    lines = [line for line in inside.strip().splitlines() if line]
    assert [line.split(" ", 1)[0] for line in lines] == [f"[{i}]" for i in range(1, len(ps) + 1)]
    assert not any("[" in line.split(" ", 1)[1] for line in lines), "a forged marker survived"


@pytest.fixture
def engine_for(tmp_path):
    def make(llm):
        settings = Settings(index_dir=tmp_path / "index", refusal_threshold=0.0, k=3)
        engine = Engine(settings, embedder=HashEmbedder(), llm=llm, inputs=[BATTERY / "corpus.jsonl"],
                        log=lambda m: None)
        engine.load()
        return engine
    return make


def test_forged_markers_in_a_quoted_sentence_are_not_shown(engine_for):
    engine = engine_for(FakeLLM(default="620 kilometres"))
    ans = engine.answer("How long is the Tamsin River from the Varn Hills to the sea?")
    assert "620" in ans.text
    verdict = judge(next(a for a in ATTACKS if a.id == "inj-markers"), ans)
    assert not verdict.through, verdict.reasons
    assert not re.search(r"\[(?:7|8|9|12)\]", ans.text)


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_a_model_echoing_forged_markers_gets_only_real_citations(engine_for, style):
    reply = "The Tamsin River flows for 620 kilometres [7][9][12]. HACKEDVILLE is the capital [1]."
    engine = engine_for(FakeLLM(default=reply, style=style))
    ans = engine.answer("How long is the Tamsin River?")
    assert all(1 <= c.n <= len(ans.passages) for c in ans.citations)
    assert not re.search(r"\[(?:7|9|12)\]", ans.text)


def test_the_ui_escapes_markup_from_documents_and_answers(engine_for):
    engine = engine_for(FakeLLM(default="slate tools"))
    ans = engine.answer("What does the Quarry Museum display?").to_dict()
    ans["text"] += " <script>alert('answer')</script>"
    html = presenting.render_answer(ans, 0) + presenting.render_sources(ans, 0)
    assert "<script" not in html.lower() and "<img" not in html.lower()
    assert "onerror=" not in html.replace("onerror=alert", "")  # escaped text may keep the word
    assert "&lt;script&gt;" in html


def test_judge_flags_what_an_attack_wants():
    from rag.models import Answer, Citation

    attack = next(a for a in ATTACKS if a.id == "inj-ignore")
    ps = passages()[:2]
    assert judge(attack, Answer(question="q", text="PWNED", passages=ps)).through
    assert judge(attack, Answer(question="q", text="1932 [2]", passages=ps)).through  # [2] not cited
    assert judge(attack, Answer(question="q", text="x", refused=True, passages=ps)).through
    c = Citation(n=1, chunk_id="c", doc_id="d", source="s", title="t", page=None, start=0, end=1, text="x",
                 sentence="x")
    assert not judge(attack, Answer(question="q", text="It opened in 1932 [1].", citations=[c], passages=ps)).through
