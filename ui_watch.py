"""Gradio wiring for the watched folder's part of the Documents panel (used by app.py).

Which folder is watched, and (polled every second) what the watcher is doing: its progress
while it indexes, then what it indexed and the one-line reason for each file that failed,
as an upload shows them. The logic lives in :mod:`rag.serve.watch`.
"""

from __future__ import annotations

import gradio as gr

from rag.serve import WatchStatus, presenting, watch_view


def panel(watch: WatchStatus) -> gr.Markdown:
    """The folder's line and the message the watcher updates (inside the Documents column)."""
    gr.Markdown(f"Watching `{watch.folder}`: files added, changed or removed there are indexed.",
                elem_id="rag-watch-folder")
    return gr.Markdown(elem_id="rag-watch-msg")


def wire(watch: WatchStatus, message, docs, to_remove, status, documents_view, status_line) -> None:
    seen = gr.State(0)

    def tick(updates_seen: int):
        text, changed, updates_seen = watch_view(watch, updates_seen)
        if text is None:
            return gr.skip(), gr.skip(), gr.skip(), gr.skip(), updates_seen
        table, choices = documents_view() if changed else (gr.skip(), gr.skip())
        shown = "  \n".join(map(presenting.escape_markdown, text.split("\n")))
        return shown, table, choices, status_line(), updates_seen

    gr.Timer(1.0).tick(tick, [seen], [message, docs, to_remove, status, seen],
                       api_visibility="private", queue=False, show_progress="hidden")


def overrides(argv: list[str] | None) -> dict:
    """``--watch DIR`` from app.py's command line, as a Settings override."""
    import argparse
    from pathlib import Path

    parser = argparse.ArgumentParser(description="The chat UI (python app.py).")
    parser.add_argument("--watch", metavar="DIR", help="index the files added, changed or removed in DIR "
                                                        "while the app runs (default: RAG_WATCH_DIR)")
    args = parser.parse_args(argv)
    return {"watch_dir": Path(args.watch)} if args.watch else {}
