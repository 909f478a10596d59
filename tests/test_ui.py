"""UI logic without a browser: rendering, upload validation, chat sessions, and the app's /ask."""

from __future__ import annotations

import sys
import threading
from pathlib import Path

import pytest

from rag.serve import presenting
from rag.ingest import uploads
from rag.serve import ChatSession, ask, check_question
from rag.config import Settings
from rag.testing import HashEmbedder
from rag.engine import Engine
from rag.errors import InputError, LLMUnavailableError
from rag.testing import FakeLLM

sys.path.insert(0, str(Path(__file__).resolve().parent))
from conftest import SEED, copy_seed, free_port  # noqa: E402


def _citation(**over):
    text = "First sentence here. The trade reached 10 billion euros. Last one."
    c = {"n": 1, "chunk_id": "c1", "doc_id": "d.txt", "source": "d.txt", "title": "Doc", "page": None,
         "start": 100, "end": 100 + len(text), "text": text, "sentence": "The trade reached 10 billion euros.",
         "sentence_start": 121, "sentence_end": 156, "supported": True, "score": 0.8123}
    c.update(over)
    return c


# ---------------------------------------------------------------------------- presenting
def test_answer_links_valid_markers_and_drops_invented_ones():
    answer = {"question": "q", "text": "It was 10 billion euros [1][7].", "citations": [_citation()]}
    md = presenting.render_answer(answer, turn=3)
    assert '<a href="#src-3-1" class="rag-cite"' in md
    assert "[7]" not in md and "src-3-7" not in md


def test_answer_text_cannot_inject_markup():
    answer = {"question": "q", "text": '<img src=x onerror="alert(1)"> ![x](http://evil/x.png) [1]',
              "citations": [_citation()]}
    md = presenting.render_answer(answer, turn=0)
    assert "<img" not in md and "&lt;img" in md
    assert "\\!\\[x\\]\\(" in md  # the markdown image is escaped, so nothing is fetched


def test_escape_markdown_shows_text_literally_without_links():
    assert presenting.escape_markdown("a <b> & c") == "a &lt;b&gt; &amp; c"
    out = presenting.escape_markdown("see http://evil.example, www.evil.example or me@evil.example")
    assert "http\\://" in out and "www\\." in out and "me\\@" in out


def test_unsupported_citation_is_marked_in_chat_and_panel():
    answer = {"question": "q", "text": "Claim [1].", "citations": [_citation(supported=False)]}
    assert "⚠" in presenting.render_answer(answer, 0)
    assert "unsupported" in presenting.render_sources(answer, 0)


def test_refusal_and_llm_error_are_rendered_as_such():
    refusal = presenting.render_answer({"text": "I can't find that.", "refused": True}, 0)
    assert refusal.startswith("**Not found in the documents.**")
    failed = presenting.render_answer({"text": "", "error": "endpoint down"}, 0)
    assert "language model failed" in failed and "endpoint down" in failed


def test_sources_highlight_the_cited_sentence_and_escape_the_passage():
    evil = _citation(text="<script>alert(1)</script> The trade reached 10 billion euros. End.",
                     sentence_start=0, sentence_end=0)  # no usable offsets: found by search
    html = presenting.render_sources({"question": "<b>q</b>", "citations": [_citation(), dict(evil, n=2)]}, 4)
    assert 'id="src-4-1"' in html and 'id="src-4-2"' in html
    assert html.count("<mark>The trade reached 10 billion euros.</mark>") == 2
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "<b>q</b>" not in html
    assert "d.txt" in html and "score 0.812" in html


def test_sources_without_citations_list_the_retrieved_passages():
    passage = {"rank": 1, "score": 0.5, "chunk_id": "c", "doc_id": "d", "source": "d.txt", "title": "D",
               "page": 2, "text": "Some text."}
    html = presenting.render_sources({"question": "q", "error": "down", "passages": [passage]}, 0)
    assert "Retrieved passages (not cited)" in html and "page 2" in html and "Some text." in html


# ---------------------------------------------------------------------------- uploads
@pytest.mark.parametrize("raw, clean", [
    ("../../etc/passwd.txt", "passwd.txt"),
    ("..\\..\\win.ini.md", "win.ini.md"),
    ("Ré sumé (1).PDF", "Re_sume_1.pdf"),
    (".hidden.txt", "hidden.txt"),
    ("a/b/.../notes.md", "notes.md"),
])
def test_sanitize_name(raw, clean):
    assert uploads.sanitize_name(raw) == clean


def _upload_settings(tmp_path, **over) -> Settings:
    return Settings(upload_dir=tmp_path / "up", index_dir=tmp_path / "idx", **over)


def test_upload_lands_in_the_upload_dir_under_its_sanitized_name(tmp_path):
    src = tmp_path / "x"
    src.write_text("hello world")
    settings = _upload_settings(tmp_path)
    saved = uploads.save_upload(src, "../../evil/../notes.txt", settings)
    assert saved.path == (tmp_path / "up" / "notes.txt").resolve()
    assert saved.path.read_text() == "hello world"
    assert uploads.list_uploads(settings) == ["notes.txt"]
    again = uploads.save_upload(src, "notes.txt", settings, reserved={"notes.txt"})
    assert again.name == "notes-2.txt"  # a clash with a built-in document keeps both
    assert not [p for p in (tmp_path / "up").iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("name, data, why", [
    ("a.exe", b"MZ...", "unsupported file type"),
    ("a.pdf", b"<html>not a pdf</html>", "not a PDF"),
    ("a.txt", b"abc\x00def", "NUL"),
    ("a.md", b"\xff\xfe\xfa bad", "not UTF-8"),
    ("a.txt", b"   \n", "empty"),
    ("a.jsonl", b"not json\n", "not JSON"),
    ("a.jsonl", b'{"title": "t"}\n', 'lacks "id" or "text"'),
])
def test_rejected_uploads_say_why(tmp_path, name, data, why):
    src = tmp_path / "src"
    src.write_bytes(data)
    with pytest.raises(uploads.UploadError, match=why):
        uploads.save_upload(src, name, _upload_settings(tmp_path))
    assert uploads.list_uploads(_upload_settings(tmp_path)) == []


def test_upload_size_limit(tmp_path):
    src = tmp_path / "big.txt"
    src.write_text("x" * 2000)
    with pytest.raises(uploads.UploadError, match="upload limit"):
        uploads.save_upload(src, "big.txt", _upload_settings(tmp_path, max_upload_bytes=1000))


def test_remove_only_accepts_listed_uploads(tmp_path):
    settings = _upload_settings(tmp_path)
    (tmp_path / "up").mkdir()
    (tmp_path / "keep.txt").write_text("outside")
    with pytest.raises(uploads.UploadError):
        uploads.remove_upload("../keep.txt", settings)
    assert (tmp_path / "keep.txt").exists()
    (tmp_path / "up" / "doc.md").write_text("# hi")
    uploads.remove_upload("doc.md", settings)
    assert uploads.list_uploads(settings) == []


# ---------------------------------------------------------------------------- chat sessions
@pytest.fixture
def engine(tmp_path):
    """An engine on the seed document with the hash embedder and a fake LLM, answering through
    the real answer path; ``engine.calls`` records what the UI asked it."""
    seeds = copy_seed(tmp_path / "seeds")
    settings = Settings(seeds_dir=seeds, index_dir=tmp_path / "idx", upload_dir=tmp_path / "up")
    settings.upload_dir.mkdir()
    eng = Engine(settings, embedder=HashEmbedder(), llm=FakeLLM(default="10 billion euros"),
                 inputs=[seeds, settings.upload_dir], log=lambda m: None)
    eng.load()
    eng.calls = []
    real_stream = eng.stream

    def stream(question, history=(), k=None, mode=None):
        eng.calls.append({"question": question, "history": list(history), "k": k, "mode": mode})
        return real_stream(question, history, k=k, mode=mode)

    eng.stream = stream
    return eng


def test_ask_streams_then_keeps_each_answers_own_sources(engine):
    session = ChatSession.new(engine.settings)
    events = list(ask(engine, session, "How large is the trade volume between Iran and Iraq?"))
    assert events[0] == "started" and "delta" in events and events[-1] == "done"
    first_sources = session.sources_html()
    cited = session.turns[0].answer["citations"][0]["n"]
    assert f'id="src-0-{cited}"' in first_sources and "<mark>" in first_sources
    assert "10 billion euros" in session.turns[0].answer["text"]
    list(ask(engine, session, "Who visited Tehran?"))
    assert session.selected == 1 and 'id="src-1-' in session.sources_html()
    assert [m["role"] for m in session.messages()] == ["user", "assistant"] * 2
    assert len(session.history()) == 4
    follow_up = engine.calls[-1]  # the second question was asked with the first turn as history
    assert follow_up["question"] == "Who visited Tehran?"
    assert [m["role"] for m in follow_up["history"]] == ["user", "assistant"]
    assert follow_up["history"][0]["content"].startswith("How large")
    session.select_message(1)  # the first answer's message
    assert session.sources_html() == first_sources


def test_session_settings_reach_the_engine(engine):
    session = ChatSession.new(engine.settings)
    session.k, session.mode = 2, "bm25"
    list(ask(engine, session, "trade volume"))
    assert (engine.calls[-1]["k"], engine.calls[-1]["mode"]) == (2, "bm25")
    assert len(session.turns[-1].answer["passages"]) <= 2


def test_bad_questions_add_no_turn(engine):
    session = ChatSession.new(engine.settings)
    with pytest.raises(InputError, match="Type a question"):
        list(ask(engine, session, "   "))
    with pytest.raises(InputError, match="limit"):
        list(ask(engine, session, "x" * (engine.settings.max_question_chars + 1)))
    assert session.turns == []
    assert check_question("  hi  ", engine.settings) == "hi"


def test_llm_failure_keeps_the_sources(engine):
    engine.llm.error = LLMUnavailableError("LLM endpoint http://127.0.0.1:9/v1 is unreachable")
    engine.llm.error_after_words = 2  # the stream dies after two words
    session = ChatSession.new(engine.settings)
    events = list(ask(engine, session, "What is the trade volume between Iran and Iraq?"))
    assert events[-1] == "done"
    turn = session.turns[-1]
    assert turn.answer["error"] and turn.answer["passages"]
    assert "language model failed" in session.messages()[-1]["content"]
    assert "Retrieved passages (not cited)" in session.sources_html()
    assert session.history() == []  # a failed turn is not fed back as context


def test_question_during_indexing_waits_and_says_so(engine):
    waiting = threading.Event()
    engine.on_wait = waiting.set  # the engine says when a question starts waiting on an update
    update_done, finish = threading.Event(), None
    with engine.updating():  # an index update is running
        session = ChatSession.new(engine.settings)
        events = ask(engine, session, "How large is the trade volume between Iran and Iraq?")
        assert next(events) == "started"
        assert session.messages()[-1]["content"] == "*Waiting for the index update to finish…*"
        rest: list = []
        finish = threading.Thread(target=lambda: (rest.append(list(events)), update_done.set()), daemon=True)
        finish.start()
        assert waiting.wait(60), "the question did not wait for the index update"
        assert not update_done.is_set() and rest == []  # blocked on the update, nothing answered yet
    finish.join(60)  # the update has finished
    assert not finish.is_alive() and rest[0][-1] == "done" and session.turns[-1].answer["citations"]


def test_refusal_is_not_an_error(engine):
    session = ChatSession.new(engine.settings)
    list(ask(engine, session, "refuse this please"))
    assert session.turns[-1].error is None
    assert session.messages()[-1]["content"].startswith("**Not found in the documents.**")


# ---------------------------------------------------------------------------- the app
@pytest.mark.slow
def test_app_ask_endpoint_returns_the_answer_json(engine, tmp_path):
    from gradio_client import Client

    import app
    from rag.serve import Keeper, build_store

    settings = engine.settings.replace(data_dir=tmp_path / "data")
    demo = app.build_app(engine, Keeper(build_store(settings), settings))
    port = free_port()
    demo.launch(server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        result = client.predict("How large is the trade volume between Iran and Iraq?", api_name="/ask")
        assert set(result) >= {"question", "text", "citations", "refused", "passages", "timings", "error"}
        assert result["citations"][0]["source"] == SEED.name
        with pytest.raises(Exception, match="Type a question"):
            client.predict("  ", api_name="/ask")
    finally:
        demo.close()


def test_parse_auth():
    import app

    assert app.parse_auth("ann:s3:cret") == [("ann", "s3:cret")]
    assert app.parse_auth("ann:pw1, bob:pw2") == [("ann", "pw1"), ("bob", "pw2")]
    assert app.parse_auth(None) is None
    with pytest.raises(InputError):
        app.parse_auth("nopassword")
    with pytest.raises(InputError):
        app.parse_auth("ann:pw1,bob")


def test_the_short_answer_is_shown_bold_with_its_sentence_below_as_evidence():
    answer = {"text": "10 billion euros [1]. Trade is more than 10 billion euros [1].",
              "short_answer": "10 billion euros", "citations": [{"n": 1}]}
    md = presenting.render_answer(answer, 0)
    lead, evidence = md.split("  \n", 1)
    assert lead.startswith("**10 billion euros** <a") and lead.endswith("</a>.")
    assert evidence.startswith("Trade is more than 10 billion euros <a")
    plain = presenting.render_answer({**answer, "short_answer": None}, 0)
    assert "**" not in plain and "  \n" not in plain


def test_a_watched_folder_shows_in_the_documents_panel(engine, tmp_path, capsys):
    import app
    from rag.serve import Keeper, build_store, watch_engine, watch_view

    folder = tmp_path / "watched"
    folder.mkdir()
    status, watcher = watch_engine(engine, folder)
    settings = engine.settings.replace(data_dir=tmp_path / "data")
    demo = app.build_app(engine, Keeper(build_store(settings), settings), status)
    ids = {getattr(b, "elem_id", None) for b in demo.blocks.values()}
    assert {"rag-watch-folder", "rag-watch-msg"} <= ids
    assert watch_view(status, 0) == (None, False, 0)  # nothing happened yet
    status.message, status.progress = "Indexing from x: a.pdf", (3, 10)
    assert watch_view(status, 0) == ("Indexing from x: a.pdf — embedding chunks 3/10", False, 0)
    status.progress, status.lines, status.updates = None, ["From x: a.pdf. documents: 1 added", "Skipped: b.pdf: encrypted PDF"], 1
    assert watch_view(status, 0) == ("From x: a.pdf. documents: 1 added\nSkipped: b.pdf: encrypted PDF", True, 1)
    assert app.main(["--watch", str(tmp_path / "missing")]) == 2
    assert "is not a folder" in capsys.readouterr().err
