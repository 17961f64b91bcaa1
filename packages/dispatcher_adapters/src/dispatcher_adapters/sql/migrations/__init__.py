"""Alembic migrations of the SQL store. Run them with :mod:`dispatcher_adapters.sql.migrate` or
``dispatcher db upgrade``; ``env.py`` refuses to run any other way (it needs the connection they provide)."""
