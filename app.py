"""Gradio chat UI: ``python app.py`` serves http://127.0.0.1:7860.

This file only builds the layout and wires events; answering, rendering, sessions and
uploads live in ``rag/`` (rag.engine, rag.serve.chat, rag.serve.presenting, rag.ingest.uploads);
asking and keeping conversations are wired in ``ui_conversations.py``.

Environment: GRADIO_SERVER_NAME (default 127.0.0.1), GRADIO_SERVER_PORT (default 7860),
RAG_AUTH=user:password for basic auth, plus every RAG_* setting of rag.config.
"""

from __future__ import annotations

import os
import sys

import gradio as gr
import uvicorn

import ui_conversations
import ui_watch
from rag.ingest import uploads
from rag.serve import (ChatSession, Keeper, LiveTurns, WatchStatus, build_store, check_question, create_api_app,
                       presenting, warm_up, watch_engine)
from rag.config import MODES, Settings
from rag.engine import Engine
from rag.errors import StoreUnavailableError, InputError, RagError

EXAMPLES = [
    "How large is the trade volume between Iran and Iraq?",
    "Who was on a state visit to Tehran?",
    "Which sectors do the joint infrastructure projects cover?",
    "What did Raisi say about foreign forces in the region?",
]
QUEUE_CONCURRENCY = 2
"""Questions answered at once: the embedded model has 2 cores; more would only slow each."""
QUEUE_MAX_SIZE = 32


def build_app(engine: Engine, keeper: Keeper, watch: WatchStatus | None = None) -> gr.Blocks:
    settings = engine.settings

    def status_line() -> str:
        return presenting.render_status(engine.status())

    def documents_view():
        try:
            docs = engine.documents()
        except RagError:
            docs = []
        names = uploads.list_uploads(settings)
        return (presenting.documents_table(docs, names, watch.files if watch else ()),
                gr.update(choices=names, value=names[0] if names else None))

    # ------------------------------------------------------------------ handlers
    def select(session: ChatSession, evt: gr.SelectData):
        session.select_message(evt.index if isinstance(evt.index, int) else evt.index[0])
        return session.sources_html(), session

    def clear(session: ChatSession):
        session.clear()
        return [], session.sources_html(), session

    def set_k(k, session: ChatSession):
        session.k = int(k)
        return session

    def set_mode(mode, session: ChatSession):
        session.mode = mode
        return session

    def add_files(files, progress=gr.Progress()):
        files = files or []
        taken = {d["doc_id"] for d in engine.documents()
                 if uploads.owner_file(d) not in uploads.list_uploads(settings)}
        saved, problems = [], []
        for f in files:
            path = getattr(f, "name", f)
            try:
                saved.append(uploads.save_upload(path, os.path.basename(str(path)), settings, reserved=taken))
            except RagError as exc:
                problems.append(str(exc))
        for p in problems:
            gr.Warning(p)
        lines = []
        if saved:
            progress(0, desc="Indexing")
            try:
                report = engine.reindex(progress=lambda done, total: progress((done, total), desc="Embedding chunks"))
                lines.append(f"Added {', '.join(s.name for s in saved)}. {report.summary()}")
                lines.extend(f"Skipped: {s}" for s in report.skipped if any(x.name in s for x in saved))
            except RagError as exc:
                gr.Warning(str(exc))
                lines.append(f"Indexing failed: {exc}")
        lines.extend(f"Rejected: {p}" for p in problems)
        table, choices = documents_view()
        return "  \n".join(presenting.escape_markdown(x) for x in lines), table, choices, status_line(), None

    def remove_file(name):
        if not name:
            gr.Warning("Choose an uploaded document to remove.")
            table, choices = documents_view()
            return "", table, choices, status_line()
        try:
            uploads.remove_upload(name, settings)
            report = engine.reindex()
            message = f"Removed {name}. {report.summary()}"
        except RagError as exc:
            gr.Warning(str(exc))
            message = f"Could not remove {name}: {exc}"
        table, choices = documents_view()
        return presenting.escape_markdown(message), table, choices, status_line()

    def refresh():
        table, choices = documents_view()
        return status_line(), table, choices

    def ask_api(question: str) -> dict:
        """Answer one question (no history); the same JSON as `python -m rag ask --json`."""
        try:
            return engine.answer(check_question(question, settings)).to_dict()
        except RagError as exc:
            raise gr.Error(str(exc)) from None

    # ------------------------------------------------------------------ layout
    with gr.Blocks(title="Ask the documents") as demo:
        session = gr.State(ChatSession.new(settings))
        with gr.Row(equal_height=False):
            gr.Markdown("## Ask the documents", elem_id="rag-title")
        status = gr.Markdown(status_line(), elem_id="rag-status")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=320):
                chatbot = gr.Chatbot(elem_id="rag-chat", height=480, show_label=False,
                                     latex_delimiters=[], feedback_options=("Like", "Dislike"),
                                     buttons=["copy"],
                                     placeholder="Answers cite their sources as [n]: click one to see "
                                                 "the exact sentence.")
                with gr.Row(equal_height=False):
                    # enabled once the page has its conversation (ui_conversations.wire): a question
                    # sent before that would be wiped from view by the restored one
                    question = gr.Textbox(placeholder="Ask about the documents…", show_label=False,
                                          scale=8, min_width=220, autofocus=True, elem_id="rag-question",
                                          max_length=settings.max_question_chars, submit_btn="Ask",
                                          interactive=False)
                    clear_btn = gr.Button("Clear", size="sm", scale=0, min_width=70, elem_id="rag-clear")
                feedback = ui_conversations.feedback_box()
            with gr.Column(scale=2, min_width=300):
                gr.Markdown("### Sources")
                sources = gr.HTML(presenting.render_sources(None, None), elem_id="rag-sources-box")
        gr.Examples(EXAMPLES, inputs=[question], label="Example questions")
        with gr.Accordion("Settings", open=False, elem_id="rag-settings"):
            with gr.Row():
                k = gr.Slider(1, 20, value=settings.k, step=1, label="Passages to retrieve (top-k)")
                mode = gr.Radio(list(MODES), value=settings.mode, label="Retrieval mode")
        with gr.Accordion("Documents", open=False, elem_id="rag-docs"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=2, min_width=280):
                    upload = gr.File(label=f"Upload {uploads.KINDS} "
                                           f"(up to {settings.max_upload_bytes // (1024 * 1024)} MB each)",
                                     file_count="multiple", file_types=sorted(uploads.ALLOWED_SUFFIXES),
                                     elem_id="rag-upload", height=150)
                    upload_msg = gr.Markdown(elem_id="rag-upload-msg")
                    watch_msg = ui_watch.panel(watch) if watch is not None else None
                    with gr.Row(equal_height=False):
                        to_remove = gr.Dropdown(label="Remove an uploaded document", choices=[], scale=3,
                                                min_width=160)
                        remove = gr.Button("Remove", variant="stop", size="sm", scale=1, min_width=80)
                with gr.Column(scale=3, min_width=280):
                    docs = gr.Dataframe(headers=["Title", "Source", "Chunks", "Origin"], interactive=False,
                                        wrap=True, elem_id="rag-docs-table", label="Indexed documents",
                                        column_widths=["34%", "38%", "12%", "16%"])

        # -------------------------------------------------------------- events
        # Light actions skip the queue: a queue full of questions must not turn away a page
        # load, a click on a past answer, a settings change or "clear".
        chatbot.select(select, [session], [sources, session], api_visibility="private",
                       queue=False, show_progress="hidden")
        cleared = [trigger(clear, [session], [chatbot, sources, session], api_visibility="private", queue=False)
                   for trigger in (clear_btn.click, chatbot.clear)]  # our button, the chatbot's trash icon
        k.change(set_k, [k, session], [session], api_visibility="private", queue=False)
        mode.change(set_mode, [mode, session], [session], api_visibility="private", queue=False)
        upload.upload(add_files, [upload], [upload_msg, docs, to_remove, status, upload],
                      api_visibility="private", concurrency_limit=1, concurrency_id="index")
        remove.click(remove_file, [to_remove], [upload_msg, docs, to_remove, status],
                     api_visibility="private", concurrency_limit=1, concurrency_id="index")
        demo.load(refresh, None, [status, docs, to_remove], api_visibility="private", queue=False)
        if watch is not None:
            ui_watch.wire(watch, watch_msg, docs, to_remove, status, documents_view, status_line)
        # chat and /ask share one limit: QUEUE_CONCURRENCY answers at once in total
        gr.api(ask_api, api_name="ask", concurrency_limit=QUEUE_CONCURRENCY, concurrency_id="answer")
        ui_conversations.wire(demo, keeper, LiveTurns(engine, keeper, QUEUE_CONCURRENCY), chatbot=chatbot,
                              sources=sources, session=session, question=question, k=k, mode=mode,
                              cleared=cleared, fb=feedback, concurrency=QUEUE_CONCURRENCY)
    demo.queue(default_concurrency_limit=QUEUE_CONCURRENCY, max_size=QUEUE_MAX_SIZE)
    return demo


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """``user:password[,user2:password2 ...]`` as gradio's list of logins."""
    if not value:
        return None
    logins = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise InputError("RAG_AUTH must look like user:password (several: comma-separated)")
        logins.append((user, password))
    return logins


def main(argv: list[str] | None = None) -> int:
    def log(message: str) -> None:
        print(message, file=sys.stderr, flush=True)

    overrides = ui_watch.overrides(argv)
    watch = watcher = None
    try:
        settings = Settings.from_env(**overrides)
        auth = parse_auth(settings.auth)
        settings.upload_dir.mkdir(parents=True, exist_ok=True)
        if settings.watch_dir is not None and not settings.watch_dir.is_dir():
            raise InputError(f"watched folder {settings.watch_dir} is not a folder")
        engine = Engine(settings, inputs=[settings.seeds_dir, settings.upload_dir], log=log)
        if settings.watch_dir is not None:
            watch, watcher = watch_engine(engine, settings.watch_dir)
        log("loading the index…")
        try:
            engine.load()
        except StoreUnavailableError as exc:  # serve anyway; questions retry the database
            log(f"warning: {exc}; the app starts and connects when it is back")
        log("starting the language model…")
        warm_up(engine)
        log(presenting.status_text(engine.status()))
        store = build_store(settings, log)
    except (RagError, ValueError) as exc:
        log(f"error: {exc}")
        return 2 if isinstance(exc, InputError) else 1
    demo = build_app(engine, Keeper(store, settings), watch)
    if watcher is not None:
        watcher.start()
        log(f"watching {settings.watch_dir}")
    # one port, one process: the OpenAI-compatible /v1 routes, with the UI mounted at /
    api = create_api_app(engine, settings, concurrency=QUEUE_CONCURRENCY, max_waiting=QUEUE_MAX_SIZE, log=log)
    server = gr.mount_gradio_app(api, demo, path="/", auth=auth, server_name=settings.server_name,
                                 server_port=settings.server_port,
                                 max_file_size=settings.max_upload_bytes, css=presenting.CSS,
                                 head=presenting.PAGE_JS, footer_links=["api"])
    where = f"http://{settings.server_name}:{settings.server_port}"
    log(f"serving {where}/ (the chat UI) and {where}/v1 (the OpenAI-compatible API)")
    try:
        uvicorn.run(server, host=settings.server_name, port=settings.server_port, log_level="warning")
    finally:
        store.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
