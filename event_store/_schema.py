"""Schema versioning: alembic migrations applied on first use and by `tamma db upgrade`.

Opening a store only reads `alembic_version` (one cheap query); alembic itself is imported
and run only when the schema is missing or behind. Upgrades hold a lock for their whole
transaction, so many processes opening a new database at once create it exactly once.
"""

from __future__ import annotations

from importlib import resources

from sqlalchemy import Engine, text

# The newest revision in migrations/versions; a test pins it to alembic's script head.
HEAD_REVISION = "0002"

# Any constant works; it only has to be the same for every process migrating this database.
_PG_MIGRATION_LOCK_KEY = 7_416_300_001


def current_revision(engine: Engine) -> str | None:
    """The schema revision stored in the database, or None for an empty database."""
    with engine.connect() as connection:
        if not connection.dialect.has_table(connection, "alembic_version"):
            return None
        revision: str | None = connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
        return revision


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
            config.attributes["connection"] = connection
            command.upgrade(config, revision)
            reached: str = connection.execute(text("SELECT version_num FROM alembic_version")).scalar_one()
    return reached


def ensure_schema(engine: Engine) -> None:
    """Upgrade only when needed, so opening an up-to-date store costs one query."""
    if current_revision(engine) != HEAD_REVISION:
        upgrade(engine)
