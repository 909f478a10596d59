"""What the front ends share (the Gradio UI today): chat sessions with each answer's own
sources, the streaming of one turn, and rendering answers and sources as HTML/Markdown."""

from . import presenting
from .chat import ChatSession, Turn, ask, check_question, warm_up

__all__ = ["ChatSession", "Turn", "ask", "check_question", "presenting", "warm_up"]
