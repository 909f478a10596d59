"""What the front ends share (the Gradio UI and the OpenAI-compatible HTTP API): chat
sessions with each answer's own sources, the streaming of one turn (finished on the server
whatever the page does), rendering answers and sources as HTML/Markdown, lasting
conversations (SQLite or PostgreSQL) with feedback, the /v1 routes, and a watched folder
indexed while the app runs."""

from . import presenting
from .chat import ChatSession, Turn, ask, check_question, warm_up
from .conversations import (CONVERSATION_STORES, LOCAL_OWNER, Conversation, ConversationNotFoundError,
                            ConversationStore, Feedback, build_store, sqlite_path)
from .feedback import export_battery
from .keeper import Keeper, owner_of
from .live import LiveTurn, LiveTurns
from .postgres_store import SCHEMA as CONVERSATION_SCHEMA
from .openai_api import create_api_app
from .watch import FolderWatcher, WatchStatus, index_changes, watch_engine, watch_view

__all__ = ["CONVERSATION_SCHEMA", "CONVERSATION_STORES", "ChatSession", "Conversation", "ConversationNotFoundError",
           "ConversationStore", "Feedback", "FolderWatcher", "Keeper", "LOCAL_OWNER", "LiveTurn", "LiveTurns", "Turn",
           "WatchStatus", "ask", "build_store", "check_question", "create_api_app", "export_battery", "index_changes",
           "owner_of", "presenting", "sqlite_path", "warm_up", "watch_engine", "watch_view"]
