"""Command line: ``python -m rag index|search|ask|eval|store``.

Exit codes: 0 success, 2 bad input or usage, 1 anything else. Errors are one line on
stderr; no traceback reaches the user (set RAG_DEBUG=1 to see one).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .config import MODES, Settings
from .errors import RagError


def _err(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _log(message: str) -> None:
    print(message, file=sys.stderr)


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # usage errors: one line, exit 2
        self.print_usage(sys.stderr)
        _err(message)
        raise SystemExit(2)


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m rag", description="Retrieval-augmented QA with verified citations.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    p = sub.add_parser("index", help="index files, folders or JSON Lines corpora (default: seeds/)")
    p.add_argument("paths", nargs="*", type=Path)
    p.add_argument("--index-dir", type=Path)
    p.add_argument("--store-url", help="a PostgreSQL database instead of the index folder (RAG_STORE_URL)")

    p = sub.add_parser("search", help="retrieve the passages for a query")
    p.add_argument("query")
    p.add_argument("--k", type=int)
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--json", action="store_true")
    p.add_argument("--index-dir", type=Path)
    p.add_argument("--store-url", help="a PostgreSQL database instead of the index folder (RAG_STORE_URL)")

    p = sub.add_parser("ask", help="answer a question with cited sources")
    p.add_argument("question")
    p.add_argument("--k", type=int)
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--json", action="store_true")
    p.add_argument("--index-dir", type=Path)
    p.add_argument("--store-url", help="a PostgreSQL database instead of the index folder (RAG_STORE_URL)")

    from .index import add_store_arguments

    add_store_arguments(sub.add_parser("store", help="database store: init, upgrade, status, copy"))

    p = sub.add_parser("feedback", help="feedback from the chat UI: export it as a battery")
    fsub = p.add_subparsers(dest="feedback_command", required=True, parser_class=_Parser)
    e = fsub.add_parser("export", help="write the rated answers as battery lines for `rag eval`")
    e.add_argument("--out", type=Path, required=True, help="the battery file to write (.jsonl)")
    e.add_argument("--data-dir", type=Path, help="the app's data folder (default RAG_DATA_DIR or data/)")
    e.add_argument("--store-url", help="the app's PostgreSQL database, when it keeps conversations there "
                                       "(default RAG_STORE_URL)")

    from .evaluate import add_arguments

    add_arguments(sub.add_parser("eval", help="run a question battery (or: eval compare RUN_A RUN_B)"))
    return parser


def build_compare_parser() -> argparse.ArgumentParser:
    from .evaluate import add_compare_arguments

    parser = _Parser(prog="python -m rag eval compare",
                     description="Compare two battery runs: metric deltas and flipped questions.")
    add_compare_arguments(parser)
    return parser


def _settings(args) -> Settings:
    overrides = {}
    if getattr(args, "index_dir", None):
        overrides["index_dir"] = args.index_dir
    if getattr(args, "store_url", None) and args.command != "store":
        overrides["store_url"] = args.store_url
    if getattr(args, "k", None) is not None:
        overrides["k"] = args.k
    if getattr(args, "mode", None):
        overrides["mode"] = args.mode
    return Settings.from_env(**overrides)


def _embedder(settings: Settings):
    from .index import build_embedder

    return build_embedder(settings)


def cmd_index(args) -> int:
    from .index import index_paths

    settings = _settings(args)
    paths = args.paths or [settings.seeds_dir]
    _, report = index_paths(paths, settings, _embedder(settings), log=_log)
    from .index import safe_location

    print(f"indexed into {safe_location(settings)}: {report.summary()}")
    return 0


def _load_retriever(settings: Settings):
    from .index import ensure_index
    from .retrieve import Retriever

    embedder = _embedder(settings)
    data = ensure_index(settings, embedder, log=_log)
    return Retriever(data, embedder, settings)


def cmd_search(args) -> int:
    settings = _settings(args)
    retriever = _load_retriever(settings)
    passages = retriever.search(args.query, k=settings.k, mode=settings.mode)
    if args.json:
        print(json.dumps({"results": [p.to_dict() for p in passages]}, ensure_ascii=False, indent=1))
        return 0
    if not passages:
        print("no results")
    for p in passages:
        c = p.chunk
        where = c.source + (f", page {c.page}" if c.page else "")
        print(f"[{p.rank}] {p.score:.4f}  {c.title or c.doc_id}  ({where}, chars {c.start}-{c.end})")
        text = " ".join(c.text.split())
        print("    " + (text[:400] + "…" if len(text) > 400 else text))
    return 0


def _engine(settings: Settings):
    from .engine import Engine

    engine = Engine(settings, embedder=_embedder(settings), log=_log)
    engine.load()  # builds the index if missing, updates it if stale (with a message)
    return engine


def cmd_ask(args) -> int:
    settings = _settings(args)
    engine = _engine(settings)
    ans = engine.answer(args.question, k=settings.k, mode=settings.mode)
    if args.json:
        print(json.dumps(ans.to_dict(), ensure_ascii=False, indent=1))
        return 0
    print(ans.text)
    if ans.error:
        _err(ans.error)
    if ans.citations:
        print("\nSources:")
        for c in ans.citations:
            where = c.source + (f", page {c.page}" if c.page else "")
            print(f"[{c.n}] {where} (chars {c.sentence_start}-{c.sentence_end})")
            print(f"    \"{' '.join(c.sentence.split())}\"")
    elif ans.passages and (ans.refused or ans.error):
        print("\nClosest passages:")
        for p in ans.passages[:3]:
            text = " ".join(p.chunk.text.split())
            print(f"[{p.rank}] {p.chunk.source}: {text[:160]}{'…' if len(text) > 160 else ''}")
    return 0


def cmd_eval(args) -> int:
    from .evaluate import run

    return run(args, _settings(args), _log)


def cmd_feedback(args) -> int:
    from .errors import InputError
    from .serve import build_store, export_battery, sqlite_path

    overrides = {"data_dir": args.data_dir} if args.data_dir else {}
    settings = Settings.from_env(**overrides, **({"store_url": args.store_url} if args.store_url else {}))
    if not settings.store_url and not sqlite_path(settings).exists():
        raise InputError(f"no conversations are stored in {settings.data_dir} (no {sqlite_path(settings).name}); "
                         "is RAG_DATA_DIR or --data-dir the app's data folder?")
    store = build_store(settings)
    try:
        n = export_battery(store, args.out)
    finally:
        store.close()
    print(f"wrote {n} rated answer{'s' if n != 1 else ''} to {args.out}"
          + ("" if n else " (nobody has rated an answer yet)"))
    return 0


def cmd_store(args) -> int:
    from .index import run_store_command as run
    from .serve import CONVERSATION_SCHEMA

    return run(args, _settings(args), _log, chains=[CONVERSATION_SCHEMA])


def cmd_compare(args) -> int:
    from .evaluate import run_compare

    return run_compare(args)


COMMANDS = {"index": cmd_index, "search": cmd_search, "ask": cmd_ask, "eval": cmd_eval,
            "compare": cmd_compare, "feedback": cmd_feedback, "store": cmd_store}


def _debug() -> bool:
    """RAG_DEBUG (through Settings): show the traceback of an unexpected error."""
    try:
        return Settings.from_env().debug
    except RagError:
        return False


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:2] == ["eval", "compare"]:
        args = build_compare_parser().parse_args(argv[2:])
        args.command = "compare"
    else:
        args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except RagError as exc:
        _err(str(exc))
        return exc.exit_code
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:  # the last line of defence: one line, not a traceback
        if _debug():
            raise
        _err(f"unexpected {type(exc).__name__}: {exc}")
        return 1
