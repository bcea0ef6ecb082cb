"""Alembic's entry point, run by `escalation.db.upgrade` with a connection it already holds.

The caller owns the connection and its transaction (and the migration lock taken in it), so
this file only configures the context; it never opens, commits or logs on its own.
"""

from __future__ import annotations

from typing import Any, Literal

import sqlalchemy as sa
from alembic import context
from alembic.autogenerate.api import AutogenContext

from escalation.models import metadata


def _render_item(type_: str, obj: Any, autogen_context: AutogenContext) -> str | Literal[False]:
    """Write our column types as their plain SQLAlchemy storage type in new migrations, which
    must not import the models."""
    if type_ == "type" and isinstance(obj, sa.TypeDecorator):
        return f"sa.{obj.impl_instance!r}"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "run migrations through escalation.db (upgrade or alembic_config(connection)); "
        "offline SQL generation is not supported"
    )
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    render_item=_render_item,
)
with context.begin_transaction():
    context.run_migrations()
