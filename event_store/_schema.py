"""Schema versioning: alembic migrations applied on first use and by `tamma db upgrade`.

Opening a store only reads `alembic_version` (one cheap query); alembic itself is imported
and run only when the schema is missing or behind. A revision newer than `HEAD_REVISION`
raises `SchemaTooNew`, one that is not ours (or a SQLite file holding another program's tables
and no revision) `NotAnEventStore`: neither is ever migrated. Upgrades hold a lock for their whole
transaction, so many processes opening a new database at once create it exactly once.
"""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Connection, Engine, inspect, text

from event_store._errors import NotAnEventStore, SchemaTooNew

# The newest revision in migrations/versions; a test pins it to alembic's script head.
HEAD_REVISION = "0002"

# Any constant works; it only has to be the same for every process migrating this database.
_PG_MIGRATION_LOCK_KEY = 7_416_300_001


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or None for an empty database."""
    with engine.connect() as connection:
        return _revision(connection)


def _revision(connection: Connection) -> str | None:
    if not connection.dialect.has_table(connection, "alembic_version"):
        return None
    revision: str | None = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    return revision


def _check_migratable(connection: Connection, revision: str | None) -> None:
    """Refuse a database this release must not migrate: see the module docstring. Revisions are
    zero-padded numbers ("0001", "0002", ...), so "newer" is a comparison of numbers."""
    url = connection.engine.url.render_as_string(hide_password=True)
    if revision is None:
        if connection.dialect.name == "sqlite" and inspect(connection).get_table_names():
            raise NotAnEventStore(url, "it holds other tables and no event store schema")
        return
    if not revision.isdigit():
        raise NotAnEventStore(url, f"its schema revision {revision!r} is not one of the event store's")
    if int(revision) > int(HEAD_REVISION):
        raise SchemaTooNew(url, revision, HEAD_REVISION)


def upgrade(engine: Engine, revision: str = "head") -> str:
    """Bring the schema to `revision` (HEAD_REVISION unless a test asks for an older one)
    under the migration lock; returns the revision the database is at."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("event_store") / "migrations"))
    with engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            connection = connection.execution_options(sqlite_begin="IMMEDIATE")
        else:  # the store's PostgreSQL engine runs in autocommit; DDL wants one transaction
            connection = connection.execution_options(isolation_level="READ COMMITTED")
        with connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK_KEY}
                )
            _check_migratable(connection, _revision(connection))
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            reached: str = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    return reached


def ensure_schema(engine: Engine) -> None:
    """Upgrade only when needed, so opening an up-to-date store costs one query."""
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)
