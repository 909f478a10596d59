"""Lasting conversations: the SQLite store (ownership, concurrent writers), the keeper that
ties a chat session to it, the Markdown export, and feedback exported as a battery that
``rag eval`` reads."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.errors import InputError
from rag.evaluate import load_battery
from rag.serve import (ChatSession, ConversationNotFoundError, Feedback, Keeper, ask, build_store,
                       export_battery, owner_of)
from rag.serve.markdown_export import conversation_markdown
from rag.serve.sqlite_store import SQLiteConversationStore
from rag.testing import FakeLLM, HashEmbedder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import copy_seed  # noqa: E402

Q1 = "How large is the trade volume between Iran and Iraq?"
Q2 = "Who was on a state visit to Tehran?"


@pytest.fixture
def store(tmp_path):
    s = SQLiteConversationStore(tmp_path / "c.sqlite3")
    yield s
    s.close()


def _answer(text="It is 10 billion euros [1].", **over):
    a = {"question": "q", "text": text, "refused": False, "error": None, "passages": [],
         "citations": [{"n": 1, "doc_id": "d.txt", "source": "d.txt", "title": "Doc", "page": 3, "start": 0,
                        "end": 40, "text": "The trade is 10 billion euros. Other.", "sentence": "The trade is 10 billion euros.",
                        "sentence_start": 0, "sentence_end": 30, "supported": True}]}
    a.update(over)
    return a


# ---------------------------------------------------------------------------- the store
def test_turns_come_back_in_order_with_citations_settings_and_feedback(store):
    cid = store.create("user:ann", {"k": 3, "mode": "bm25"})
    assert store.add_turn("user:ann", cid, Q1, _answer()) == 0
    assert store.add_turn("user:ann", cid, "broken", None, "the index is being updated") == 1
    store.set_feedback("user:ann", cid, 0, Feedback(-1, "about 10 billion euros", False))
    conv = store.get("user:ann", cid)
    assert [t.question for t in conv.turns] == [Q1, "broken"]
    assert conv.turns[0].answer["citations"][0]["sentence"] == "The trade is 10 billion euros."
    assert conv.turns[1].error == "the index is being updated"
    assert conv.turns[0].feedback == Feedback(-1, "about 10 billion euros", False)
    assert conv.settings == {"k": 3, "mode": "bm25"} and conv.title == Q1
    store.rename("user:ann", cid, "  Trade   figures ")
    assert [(s.title, s.turns) for s in store.list("user:ann")] == [("Trade figures", 2)]
    with pytest.raises(InputError):
        store.rename("user:ann", cid, "   ")
    store.delete("user:ann", cid)
    assert store.list("user:ann") == []
    assert store._conn().execute("SELECT COUNT(*) FROM turns").fetchone() == (0,)  # no orphans


def test_an_owner_cannot_see_open_rate_rename_or_delete_anothers(store):
    cid = store.create("user:ann")
    store.add_turn("user:ann", cid, Q1, _answer())
    assert store.list("user:bob") == []
    for call in (lambda: store.get("user:bob", cid), lambda: store.add_turn("user:bob", cid, "x", None),
                 lambda: store.rename("user:bob", cid, "mine"), lambda: store.delete("user:bob", cid),
                 lambda: store.set_feedback("user:bob", cid, 0, Feedback(1))):
        with pytest.raises(ConversationNotFoundError):
            call()
    with pytest.raises(ConversationNotFoundError):  # the same answer as for an id that doesn't exist
        store.get("user:ann", "0" * 32)
    assert len(store.get("user:ann", cid).turns) == 1


def test_twenty_concurrent_clients_lose_no_turn(tmp_path):
    path = tmp_path / "c.sqlite3"
    store = SQLiteConversationStore(path)
    shared = store.create("local")
    own = [store.create("local") for _ in range(20)]
    per_client, errors = 25, []
    start = threading.Barrier(20)

    def client(i):
        try:
            start.wait()
            for j in range(per_client):
                store.add_turn("local", shared, f"client {i} question {j}", _answer())
                store.add_turn("local", own[i], f"question {j}", _answer())
        except Exception as exc:  # counted below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not errors
    turns = store.get("local", shared).turns
    assert len(turns) == 20 * per_client
    assert [t.index for t in turns] == list(range(20 * per_client))  # no gaps, no duplicates
    assert {t.question for t in turns} == {f"client {i} question {j}" for i in range(20) for j in range(per_client)}
    assert all(len(store.get("local", c).turns) == per_client for c in own)
    store.close()
    # a second process's view (a fresh connection) counts the same
    assert sqlite3.connect(path).execute("SELECT COUNT(*) FROM turns").fetchone() == (40 * per_client,)


def test_with_a_store_url_conversations_stay_in_sqlite_and_it_says_so(tmp_path):
    from types import SimpleNamespace

    said = []
    store = build_store(SimpleNamespace(data_dir=tmp_path, store_url="postgresql://u:pw@localhost/x"), said.append)
    assert isinstance(store, SQLiteConversationStore) and (tmp_path / "conversations.sqlite3").exists()
    assert len(said) == 1 and "SQLite" in said[0] and "pw" not in said[0]
    store.close()


# ---------------------------------------------------------------------------- the keeper
@pytest.fixture
def engine(tmp_path):
    seeds = copy_seed(tmp_path / "seeds")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "idx", data_dir=tmp_path / "data",
                        refusal_threshold=0.0)
    eng = Engine(settings, embedder=HashEmbedder(), llm=FakeLLM(default="10 billion euros"), inputs=[seeds],
                 log=lambda m: None)
    eng.load()
    return eng


def test_a_session_is_saved_and_restored_and_only_for_its_owner(engine):
    keeper = Keeper(build_store(engine.settings), engine.settings)
    ann, bob = owner_of("ann"), owner_of("bob")
    session = ChatSession.new(engine.settings)
    session.k = 3
    for q in (Q1, Q2):
        list(ask(engine, session, q))
        keeper.save(ann, session)
    keeper.save(ann, session)  # saving again stores nothing twice
    back = keeper.session_for(ann, session.conversation_id)
    assert [t.question for t in back.turns] == [Q1, Q2] and back.k == 3
    assert back.messages() == session.messages() and back.sources_html() == session.sources_html()
    assert keeper.session_for(bob, session.conversation_id).turns == []  # bob gets a fresh session
    assert keeper.choices(bob) == [] and len(keeper.choices(ann)) == 1
    assert keeper.browser_secret() == keeper.browser_secret()


def test_markdown_export_quotes_the_cited_sentences_and_names_the_sources(engine):
    keeper = Keeper(build_store(engine.settings), engine.settings)
    session = ChatSession.new(engine.settings)
    list(ask(engine, session, Q1))
    keeper.save("local", session)
    text = keeper.export("local", session).read_text()
    citation = session.turns[0].answer["citations"][0]
    assert text.startswith(f"# {Q1}") and session.turns[0].answer["text"] in text
    assert f"> {' '.join(citation['sentence'].split())}" in text
    assert "`raisi-iraq-trade-press-conference.txt`" in text
    conv = keeper.store.get("local", session.conversation_id)
    assert conversation_markdown(conv) == text
    with pytest.raises(InputError):
        keeper.export("local", ChatSession.new(engine.settings))


# ---------------------------------------------------------------------------- feedback
def test_feedback_becomes_battery_lines_that_rag_eval_reads(engine, tmp_path):
    keeper = Keeper(build_store(engine.settings), engine.settings)
    session = ChatSession.new(engine.settings)
    for q in (Q1, "How long did his visit last?", Q2, "Who won the 1998 World Cup?"):
        list(ask(engine, session, q))
    keeper.rate("local", session, 0, 1)
    keeper.rate("local", session, 1, -1, "  about   three days ")
    keeper.rate("local", session, 2, -1)
    keeper.rate("local", session, 3, -1, "", not_in_documents=True)
    out = tmp_path / "fb" / "battery.jsonl"
    assert export_battery(keeper.store, out) == 4
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    up, corrected, bare, absent = lines
    assert up["gold"] == ["raisi-iraq-trade-press-conference.txt"] and up["rating"] == "up"
    assert corrected["answers"] == ["about three days"]
    assert [m["role"] for m in corrected["history"]] == ["user", "assistant"]
    assert corrected["history"][0]["content"] == Q1
    assert corrected["sources"] and corrected["sources"][0]["sentence"]
    assert bare["expect_refusal"] is False and "answers" not in bare
    assert absent["expect_refusal"] is True and len(absent["history"]) == 6
    battery = load_battery([out], strict=True)
    assert [q.id for q in battery.questions] == [x["id"] for x in lines]
    assert battery.questions[1].answers == ("about three days",) and battery.questions[3].expect_refusal


def test_rating_needs_a_saved_answer(engine):
    keeper = Keeper(build_store(engine.settings), engine.settings)
    with pytest.raises(InputError):
        keeper.rate("local", ChatSession.new(engine.settings), 0, -1)


def test_feedback_export_command(engine, tmp_path):
    import subprocess

    keeper = Keeper(build_store(engine.settings), engine.settings)
    session = ChatSession.new(engine.settings)
    list(ask(engine, session, Q1))
    keeper.rate("local", session, 0, -1, "10 billion euros")
    keeper.store.close()
    out = tmp_path / "battery.jsonl"
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-m", "rag", "feedback", "export", "--out", str(out),
                          "--data-dir", str(engine.settings.data_dir)], cwd=root, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "wrote 1 rated answer to" in run.stdout
    assert json.loads(out.read_text())["answers"] == ["10 billion euros"]
    missing = subprocess.run([sys.executable, "-m", "rag", "feedback", "export", "--out", str(out),
                              "--data-dir", str(tmp_path / "nowhere")], cwd=root, capture_output=True, text=True)
    assert missing.returncode == 2 and "no conversations are stored" in missing.stderr
    assert not (tmp_path / "nowhere").exists()
