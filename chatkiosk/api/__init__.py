"""HTTP and WebSocket routes only: parse, authorise, call the core, shape the answer."""
