"""The assistant's reach into the world: web search, reading a result page, running code.

Each is a way for the outside world to reach the server, so each is off unless an admin turns
it on in the server's settings (never a client), and each is built safe first: the page reader
refuses private addresses after DNS resolution and on every redirect, and code runs only inside
a bubblewrap sandbox — never unsandboxed.
"""
