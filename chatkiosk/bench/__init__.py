"""`chatkiosk bench`: a load test of the whole product against a running server.

Virtual users sign up (or sign in), open conversations with an agent and send streamed turns
over SSE, the WebSocket or the OpenAI-compatible API, with a ramp-up and think time, for a
duration or a number of turns. It is bounded in users, turns and time, and refuses a target
that is not on loopback unless told otherwise.
"""

from chatkiosk.bench.plan import BenchPlan, check_target
from chatkiosk.bench.run import run_bench

__all__ = ["BenchPlan", "check_target", "run_bench"]
