"""Gradio chat UI (placeholder until the UI lands): says so instead of crashing."""

if __name__ == "__main__":
    print("The chat UI is coming; meanwhile use: python -m rag search \"QUESTION\"")
