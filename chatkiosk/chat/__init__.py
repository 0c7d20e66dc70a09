"""The chat turn: a user message in, an answer streamed out, everything stored correctly."""
