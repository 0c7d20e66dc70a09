"""Storage: the async engine, the tables, migrations, and query functions per aggregate."""
