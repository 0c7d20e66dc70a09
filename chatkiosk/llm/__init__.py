"""LLM providers: one small interface (`Provider`), several hosts behind it."""
