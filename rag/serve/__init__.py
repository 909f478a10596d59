"""What the front ends share (the Gradio UI and the OpenAI-compatible HTTP API): chat
sessions with each answer's own sources, the streaming of one turn, rendering answers and
sources as HTML/Markdown, lasting conversations with feedback, and the /v1 routes."""

from . import presenting
from .chat import ChatSession, Turn, ask, check_question, warm_up

__all__ = ["ChatSession", "Turn", "ask", "check_question", "presenting", "warm_up"]
