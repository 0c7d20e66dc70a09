"""Agents: tools, the agent loop, context policies, and one package per agent."""
