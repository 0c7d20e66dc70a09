"""Alembic environment: runs on the connection that `chatkiosk.store.migrate` hands over."""

from alembic import context

from chatkiosk.store.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations with `chatkiosk db upgrade`")

context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
context.run_migrations()
