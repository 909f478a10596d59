"""Lasting conversations: the conversation store on both backends (SQLite and a real
PostgreSQL: ownership, concurrent writers, pending turns), the keeper that ties a chat session
to it, answers that finish on the server (rag.serve.live), the Markdown export, and feedback
exported as a battery that ``rag eval`` reads."""

from __future__ import annotations

import json
import sqlite3
import sys
import threading
import time
from pathlib import Path

import pytest

from rag.config import Settings
from rag.engine import Engine
from rag.errors import InputError, StoreSchemaError
from rag.evaluate import load_battery
from rag.serve import (CONVERSATION_SCHEMA, ChatSession, ConversationNotFoundError, Feedback, Keeper, LiveTurns, ask,
                       build_store, export_battery, owner_of)
from rag.serve.markdown_export import conversation_markdown
from rag.serve.postgres_store import PostgresConversationStore
from rag.serve.sqlite_store import SQLiteConversationStore
from rag.testing import FakeLLM, HashEmbedder

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import copy_seed  # noqa: E402
from pg_fixtures import new_database  # noqa: E402

Q1 = "How large is the trade volume between Iran and Iraq?"
Q2 = "Who was on a state visit to Tehran?"


@pytest.fixture(params=["sqlite", "postgres"])
def store_backend(request) -> str:
    return request.param


@pytest.fixture
def store_settings_for(store_backend, request, tmp_path):
    """Settings whose conversation store is the backend under test (a fresh database each)."""
    def make(**over) -> Settings:
        base = Settings(data_dir=tmp_path / "data", index_dir=tmp_path / "idx", **over)
        if store_backend == "sqlite":
            return base
        return base.replace(store_url=new_database(request.getfixturevalue("pg_server"), dim=64))
    return make


@pytest.fixture
def store(store_settings_for, store_backend):
    s = build_store(store_settings_for())
    assert isinstance(s, {"sqlite": SQLiteConversationStore, "postgres": PostgresConversationStore}[store_backend])
    yield s
    s.close()


def count_turns(store) -> int:
    """Every stored turn, counted through a connection of its own (what another process sees)."""
    if isinstance(store, SQLiteConversationStore):
        with sqlite3.connect(store.path) as db:
            return db.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    import psycopg

    with psycopg.connect(store.db.url) as conn:
        return conn.execute("SELECT count(*) FROM rag_turns").fetchone()[0]


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
    assert count_turns(store) == 0  # no orphans


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


def test_a_pending_turn_is_stored_then_finished(store):
    cid = store.create("user:ann")
    idx = store.add_turn("user:ann", cid, Q1, None)
    (turn,) = store.get("user:ann", cid).turns
    assert turn.pending and turn.answer is None
    store.finish_turn("user:ann", cid, idx, _answer())
    (turn,) = store.get("user:ann", cid).turns
    assert not turn.pending and turn.answer["citations"][0]["page"] == 3
    with pytest.raises(ConversationNotFoundError):
        store.finish_turn("user:bob", cid, idx, _answer())
    with pytest.raises(ConversationNotFoundError):
        store.finish_turn("user:ann", cid, 7, _answer())


def test_twenty_concurrent_clients_lose_no_turn(store):
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
    assert count_turns(store) == 40 * per_client  # a second connection's view counts the same


def test_with_a_store_url_conversations_go_to_postgres_in_the_index_pool(pg_server, tmp_path):
    from rag.index import PostgresStore

    url = new_database(pg_server, dim=64)
    settings = Settings(data_dir=tmp_path / "data", store_url=url)
    store = build_store(settings)
    assert isinstance(store, PostgresConversationStore) and not (tmp_path / "data" / "conversations.sqlite3").exists()
    assert store.db.pool is PostgresStore.for_settings(settings).pool  # one pool per database and process
    cid = store.create("local", {"k": 2})
    assert build_store(settings).get("local", cid).settings == {"k": 2}


def test_a_database_without_the_conversation_tables_is_refused_with_the_command(pg_server, tmp_path):
    import psycopg

    url = new_database(pg_server, init=False)
    with psycopg.connect(url, autocommit=True) as conn:
        from rag.index.postgres import schema

        schema.migrate(conn, 64)  # an index made by the code before conversations were kept there
    with pytest.raises(StoreSchemaError, match="no tables for the conversations.*python -m rag store upgrade"):
        build_store(Settings(store_url=url))
    with psycopg.connect(url, autocommit=True) as conn:
        assert CONVERSATION_SCHEMA.migrate(conn) == [1] and CONVERSATION_SCHEMA.migrate(conn) == []
    assert build_store(Settings(store_url=url)).list("local") == []


def test_store_init_upgrade_and_status_cover_the_conversation_tables(pg_server):
    import subprocess

    import psycopg

    root = Path(__file__).resolve().parent.parent

    def rag(*args):
        return subprocess.run([sys.executable, "-m", "rag", "store", *args], cwd=root, capture_output=True,
                              text=True, timeout=120)

    url = new_database(pg_server, init=False)
    init = rag("init", "--store-url", url, "--dim", "64")
    assert init.returncode == 0, init.stderr
    assert f"conversations schema version {CONVERSATION_SCHEMA.version} (applied 1)" in init.stdout
    status = rag("status", "--store-url", url)
    assert "conversations schema version 1 (current)" in status.stdout, status.stdout
    with psycopg.connect(url, autocommit=True) as conn:  # as if made before conversations were kept there
        conn.execute("DROP TABLE rag_feedback, rag_turns, rag_conversations, rag_conversation_schema")
    assert "no tables yet: run python -m rag store upgrade" in rag("status", "--store-url", url).stdout
    again = rag("init", "--store-url", url)
    assert again.returncode == 2 and "run: python -m rag store upgrade" in again.stderr
    upgrade = rag("upgrade", "--store-url", url)
    assert upgrade.returncode == 0 and "conversations schema version 1 (applied 1)" in upgrade.stdout, upgrade.stderr
    assert "nothing to do" in rag("upgrade", "--store-url", url).stdout


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


def test_a_session_is_saved_and_restored_and_only_for_its_owner(engine, store):
    keeper = Keeper(store, engine.settings)
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


def test_markdown_export_quotes_the_cited_sentences_and_names_the_sources(engine, store):
    keeper = Keeper(store, engine.settings)
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
def test_feedback_becomes_battery_lines_that_rag_eval_reads(engine, store, tmp_path):
    keeper = Keeper(store, engine.settings)
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


def test_rating_needs_a_saved_answer(engine, store):
    keeper = Keeper(store, engine.settings)
    with pytest.raises(InputError):
        keeper.rate("local", ChatSession.new(engine.settings), 0, -1)


def test_feedback_export_command(engine, store, tmp_path):
    import subprocess

    keeper = Keeper(store, engine.settings)
    session = ChatSession.new(engine.settings)
    list(ask(engine, session, Q1))
    keeper.rate("local", session, 0, -1, "10 billion euros")
    keeper.store.close()
    out = tmp_path / "battery.jsonl"
    root = Path(__file__).resolve().parent.parent
    where = (["--store-url", store.db.url] if isinstance(store, PostgresConversationStore)
             else ["--data-dir", str(engine.settings.data_dir)])
    run = subprocess.run([sys.executable, "-m", "rag", "feedback", "export", "--out", str(out), *where],
                         cwd=root, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "wrote 1 rated answer to" in run.stdout
    assert json.loads(out.read_text())["answers"] == ["10 billion euros"]
    missing = subprocess.run([sys.executable, "-m", "rag", "feedback", "export", "--out", str(out),
                              "--data-dir", str(tmp_path / "nowhere")], cwd=root, capture_output=True, text=True)
    assert missing.returncode == 2 and "no conversations are stored" in missing.stderr
    assert not (tmp_path / "nowhere").exists()


# ---------------------------------------------------------------------------- answers that finish on the server
class GatedEngine:
    """The engine, with each answer held after its first words until ``go`` is set (a page
    can reload, or go away, in the middle of it)."""

    def __init__(self, engine):
        self.engine, self.settings, self.go = engine, engine.settings, threading.Event()

    def stream(self, *args, **kw):
        yield "The trade "
        assert self.go.wait(60), "the test never let the answer go on"
        yield from self.engine.stream(*args, **kw)


def _until(condition, seconds=60.0):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_page_reloaded_mid_answer_finds_it_and_the_server_finishes_it_unwatched(engine, store):
    gated = GatedEngine(engine)
    keeper = Keeper(store, engine.settings)
    live = LiveTurns(gated, keeper, concurrency=2)
    session = ChatSession.new(engine.settings)
    running = live.start("local", session, f"  {Q1} ")
    (stored,) = store.get("local", session.conversation_id).turns  # stored before any answer
    assert stored.pending and stored.question == Q1
    _until(lambda: running.turn.text == "The trade ")
    # the page reloads: the conversation comes back with the answer still being written
    back = keeper.session_for("local", session.conversation_id)
    assert back.turns[0] is running.turn and keeper.following(back) == [running]
    assert "The trade" in back.messages()[1]["content"]
    gated.go.set()  # nobody follows any more: the server finishes and stores it all the same
    _until(lambda: running.finished)  # set once the answer is stored (the turn is done a moment before)
    assert not keeper.following(back)
    (stored,) = store.get("local", session.conversation_id).turns
    assert stored.answer == session.turns[0].answer and "10 billion euros" in stored.answer["text"]
    assert keeper.session_for("local", session.conversation_id).messages() == session.messages()
    assert list(running.follow()) == ["done"]  # a late follower gets the end at once
    # the next question continues the same conversation, in order
    gated2 = LiveTurns(engine, keeper)
    assert list(gated2.start("local", session, Q2).follow(since=1))[-1] == "done"
    assert [t.question for t in store.get("local", session.conversation_id).turns] == [Q1, Q2]


def test_an_answer_nobody_finished_says_so_and_a_bad_question_stores_nothing(engine, store):
    keeper = Keeper(store, engine.settings)
    cid = store.create("local")
    store.add_turn("local", cid, Q1, None)  # its app stopped before the answer was in
    (turn,) = keeper.session_for("local", cid).turns
    assert turn.done and "not finished" in turn.error
    session = ChatSession.new(engine.settings)
    with pytest.raises(InputError):
        LiveTurns(engine, keeper).start("local", session, "   ")
    assert session.turns == [] and session.conversation_id is None and len(store.list("local")) == 1


def test_ratings_come_back_with_the_conversation(engine, store):
    keeper = Keeper(store, engine.settings)
    session = ChatSession.new(engine.settings)
    for q in (Q1, Q2, "How long did his visit last?"):
        list(ask(engine, session, q))
    keeper.rate("local", session, 0, 1)
    keeper.rate("local", session, 2, -1, "three days")
    assert session.feedback_values() == ["Like", None, "Dislike"]
    assert keeper.session_for("local", session.conversation_id).feedback_values() == ["Like", None, "Dislike"]
    keeper.unrate("local", session, 2)  # the thumb taken back: gone after a reload and from the export
    assert session.feedback_values() == ["Like", None, None]
    assert keeper.session_for("local", session.conversation_id).feedback_values() == ["Like", None, None]
    assert [r.turn.index for r in store.rated_turns()] == [0]
