"""Ingestion: files, folders and JSON Lines corpora read into documents (one reader per
format), split into sentence-aware chunks with exact offsets; uploads checked and stored."""

from . import uploads
from .chunking import CHUNKER, chunk_document, is_heading, split_sentences
from .documents import SUPPORTED_SUFFIXES, LoadResult, iter_files, load_documents
from .text import clean_text

__all__ = ["CHUNKER", "SUPPORTED_SUFFIXES", "LoadResult", "chunk_document", "clean_text", "is_heading", "iter_files",
           "load_documents", "split_sentences", "uploads"]
