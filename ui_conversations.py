"""Gradio wiring for asking, lasting conversations and feedback (used by app.py).

Asking: the question is stored before it is answered and the answer is written on the
server to its end (:class:`rag.serve.LiveTurns`); the page follows it. A page reloaded
mid-answer gets the conversation back and shows the same answer's progress (a timer,
outside the queue) until it is done. The side list
of past conversations (new, open, rename, delete, export as Markdown), the page's stored
current conversation (restored on reload), and thumbs up/down with an optional "the right
answer is …" on every answer, shown again when the conversation comes back. The logic lives
in :class:`rag.serve.keeper.Keeper`; this module only builds components and events.
"""

from __future__ import annotations

from types import SimpleNamespace

import gradio as gr

from rag.errors import InputError, RagError
from rag.serve import Keeper, LiveTurns, owner_of


CLOSE_ON_PHONES = """() => { if (window.innerWidth >= 768) return;
    const bar = document.querySelector('#rag-sidebar.open .toggle-button'); if (bar) bar.click(); }"""
"""On a narrow screen the side list would cover the chat: it starts closed there."""
TICK_SECONDS = 0.5
"""How often a reopened page shows the progress of an answer still being written."""
GONE = "The conversation this page had open isn't available (deleted, or another user's)."


def _owner(request: gr.Request | None) -> str:
    return owner_of(getattr(request, "username", None) if request is not None else None)


def _title(keeper: Keeper, owner: str, session) -> str:
    return keeper.title(owner, session)


def feedback_box() -> SimpleNamespace:
    """The correction form shown after a thumbs down (build it where it should appear)."""
    with gr.Group(visible=False, elem_id="rag-feedback") as box:
        correction = gr.Textbox(label="The right answer is …", elem_id="rag-correction", lines=1,
                                placeholder="Optional: what the answer should have said")
        with gr.Row(equal_height=True):
            not_in_docs = gr.Checkbox(label="The documents don't hold the answer", elem_id="rag-not-in-docs")
            send = gr.Button("Send feedback", size="sm", variant="primary", elem_id="rag-feedback-send")
    note = gr.Markdown(elem_id="rag-feedback-msg")
    return SimpleNamespace(box=box, correction=correction, not_in_docs=not_in_docs, send=send, note=note,
                           turn=gr.State(None))


def _chat(s):
    """The chatbot's messages with each answer's thumbs as stored."""
    return gr.update(value=s.messages(), feedback_value=s.feedback_values())


def wire(demo: gr.Blocks, keeper: Keeper, live: LiveTurns, *, chatbot, sources, session, question, k, mode, cleared,
         fb, concurrency: int) -> None:
    """The side list and the events; call inside the Blocks, after the main layout."""
    current = gr.BrowserState(None, storage_key="rag-conversation", secret=keeper.browser_secret())
    with gr.Sidebar(label="Conversations", open=True, elem_id="rag-sidebar"):
        new = gr.Button("New conversation", size="sm", elem_id="rag-new")
        note = gr.Markdown(elem_id="rag-conv-note")
        convs = gr.Radio(label="Past conversations", choices=[], elem_id="rag-conversations")
        name = gr.Textbox(label="Name", elem_id="rag-conv-name", placeholder="Rename this conversation")
        with gr.Row():
            rename = gr.Button("Rename", size="sm", elem_id="rag-rename")
            delete = gr.Button("Delete", size="sm", variant="stop", elem_id="rag-delete")
        export = gr.Button("Export as Markdown", size="sm", elem_id="rag-export")
        exported = gr.File(label="Markdown export", visible=False, interactive=False, elem_id="rag-export-file")
    ticker = gr.Timer(TICK_SECONDS, active=False)  # runs while a reopened conversation's answer is written

    def listed(owner, s):
        try:
            return gr.update(choices=keeper.choices(owner), value=s.conversation_id), _title(keeper, owner, s)
        except RagError as exc:
            gr.Warning(f"The list of conversations is unavailable: {exc}")
            return gr.skip(), gr.skip()

    def view(owner, s, why=""):
        """Everything a change of conversation updates."""
        return (_chat(s), s.sources_html(), s, s.conversation_id, *listed(owner, s), s.k, s.mode,
                gr.update(visible=False), why, gr.Timer(active=bool(keeper.following(s))))

    shown = [chatbot, sources, session, current, convs, name, k, mode, fb.box, note, ticker]

    def restore(cid, request: gr.Request):
        owner = _owner(request)
        try:
            s = keeper.session_for(owner, cid)
        except RagError as exc:  # the store is down: the page works, without its conversation
            return view(owner, keeper.session_for(owner, None), f"Conversations are unavailable: {exc}")
        return view(owner, s, GONE if cid and s.conversation_id != cid else "")

    def opened(cid, request: gr.Request):
        return restore(cid, request)

    def fresh(request: gr.Request):
        return view(_owner(request), keeper.session_for(_owner(request), None))

    def respond(text: str, s, request: gr.Request):
        owner = _owner(request)
        try:
            running = live.start(owner, s, text)
        except InputError as exc:
            gr.Warning(str(exc))
            yield _chat(s), s.sources_html(), s, text, gr.skip(), gr.skip(), gr.skip()
            return
        if running.unsaved:
            gr.Warning(f"This answer can't be saved: {running.unsaved}")
        yield _chat(s), s.sources_html(), s, "", s.conversation_id, *listed(owner, s)  # the page knows it now
        for event in running.follow(since=1):
            if event == "error":
                gr.Warning(running.turn.error)
            yield _chat(s), s.sources_html(), s, "", gr.skip(), gr.skip(), gr.skip()

    def tick(s, request: gr.Request):
        """After a reload or reopening: the answer still being written, until it is done
        (then the conversation as stored)."""
        going = bool(keeper.following(s))
        if not going and s.conversation_id:
            try:
                s = keeper.session_for(_owner(request), s.conversation_id)
            except RagError as exc:
                gr.Warning(str(exc))
        return _chat(s), s.sources_html(), s, gr.Timer(active=going)

    def saved(s, request: gr.Request):
        owner = _owner(request)
        try:
            keeper.save(owner, s)
            keeper.save_settings(owner, s)  # the top-k and mode this conversation was asked with
        except RagError as exc:
            gr.Warning(f"This answer could not be saved: {exc}")
        return s, s.conversation_id, *listed(owner, s)

    def renamed(s, title, request: gr.Request):
        owner = _owner(request)
        try:
            keeper.rename(owner, s, title)
        except RagError as exc:
            gr.Warning(str(exc))
        return listed(owner, s)

    def deleted(s, request: gr.Request):
        owner = _owner(request)
        try:
            return view(owner, keeper.delete(owner, s))
        except RagError as exc:
            gr.Warning(str(exc))
            return view(owner, s)

    def exporting(s, request: gr.Request):
        try:
            return gr.update(value=str(keeper.export(_owner(request), s)), visible=True)
        except RagError as exc:
            gr.Warning(str(exc))
            return gr.update(visible=False)

    def liked(s, evt: gr.LikeData, request: gr.Request):
        index = evt.index if isinstance(evt.index, int) else evt.index[0]
        turn = int(index) // 2
        try:
            if evt.liked not in (True, False):  # the vote was taken back
                keeper.unrate(_owner(request), s, turn)
                return gr.update(visible=False), None, "", "", False
            keeper.rate(_owner(request), s, turn, 1 if evt.liked else -1)
        except RagError as exc:
            gr.Warning(str(exc))
            return gr.update(visible=False), None, "", "", False
        if evt.liked:
            return gr.update(visible=False), None, "Thanks: noted as a good answer.", "", False
        return gr.update(visible=True), turn, "Thumbs down noted. What should it have said?", "", False

    def sent(s, turn, correction, not_in_docs, request: gr.Request):
        if turn is None:
            return gr.update(visible=False), ""
        try:
            keeper.rate(_owner(request), s, int(turn), -1, correction or "", bool(not_in_docs))
        except RagError as exc:
            gr.Warning(str(exc))
            return gr.update(visible=True), ""
        return gr.update(visible=False), "Thanks: the correction is saved (`python -m rag feedback export`)."

    quiet = dict(api_visibility="private", queue=False, show_progress="hidden")
    demo.load(None, None, None, js=CLOSE_ON_PHONES)
    # the question box opens once the page shows its conversation: a question sent before the
    # restored conversation arrived would vanish from the page under it (on a slow server)
    demo.load(restore, [current], shown, **quiet).then(lambda: gr.update(interactive=True), None, question,
                                                       **quiet)
    convs.input(opened, [convs], shown, **quiet)
    ticker.tick(tick, [session], [chatbot, sources, session, ticker], **quiet)
    new.click(fresh, None, shown, **quiet)
    for event in cleared:
        event.then(fresh, None, shown, **quiet)
    # chat and /ask share one limit: `concurrency` answers at once in total
    submitted = question.submit(respond, [question, session], [chatbot, sources, session, question, current, convs,
                                                               name], api_visibility="private", show_progress="hidden",
                                concurrency_limit=concurrency, concurrency_id="answer")
    submitted.then(saved, [session], [session, current, convs, name], **quiet)
    rename.click(renamed, [session, name], [convs, name], **quiet)
    name.submit(renamed, [session, name], [convs, name], **quiet)
    delete.click(deleted, [session], shown, **quiet)
    export.click(exporting, [session], [exported], **quiet)
    chatbot.like(liked, [session], [fb.box, fb.turn, fb.note, fb.correction, fb.not_in_docs], **quiet)
    fb.send.click(sent, [session, fb.turn, fb.correction, fb.not_in_docs], [fb.box, fb.note], **quiet)
