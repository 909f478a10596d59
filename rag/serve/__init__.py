"""What the front ends share (the Gradio UI and the OpenAI-compatible HTTP API): chat
sessions with each answer's own sources, the streaming of one turn, rendering answers and
sources as HTML/Markdown, lasting conversations with feedback, and the /v1 routes."""

from . import presenting
from .chat import ChatSession, Turn, ask, check_question, warm_up
from .conversations import (LOCAL_OWNER, Conversation, ConversationNotFoundError, ConversationStore, Feedback,
                            build_store, sqlite_path)
from .feedback import export_battery
from .keeper import Keeper, owner_of
from .openai_api import create_api_app

__all__ = ["ChatSession", "Conversation", "ConversationNotFoundError", "ConversationStore", "Feedback", "Keeper",
           "LOCAL_OWNER", "Turn", "ask", "build_store", "check_question", "create_api_app", "export_battery",
           "owner_of", "presenting", "sqlite_path", "warm_up"]
