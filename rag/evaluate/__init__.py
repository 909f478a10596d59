"""Evaluation: question batteries run through the same answer path as the UI, scored
(retrieval hits, answer match and F1, refusals, citations), written as a run (report.json,
results.jsonl, report.html), compared, and gated for CI (``python -m rag eval``)."""

from .battery import Battery, Question, load_battery, select
from .cli import add_arguments, add_compare_arguments, run, run_compare
from .remote import RemoteEngine
from .runner import EvalRun, run_answers, run_retrieval, write_run

__all__ = ["Battery", "EvalRun", "Question", "RemoteEngine", "add_arguments", "add_compare_arguments",
           "load_battery", "run", "run_answers", "run_compare", "run_retrieval", "select", "write_run"]
