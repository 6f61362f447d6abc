"""PostgreSQL: an append function that takes native arrays instead of one JSONB document.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

The append stays one function call, but 0001's function unpacked its JSONB arguments with
`jsonb_array_elements` in five places and ran its condition items through a loop of
set-returning queries whose plans PostgreSQL made again on every call: about 350 µs of
server time per conditional append (`pg_stat_user_functions`, this machine, 2026-12-03).
This one takes parallel arrays, one element per event (`p_ids[i]`, `p_types[i]`, ...) and
one per condition item, which arrive parsed and feed `unnest` and `= ANY` directly, and it
runs plans made once per connection: about 130 µs.

0001's function stays: a process of the previous release that is still running keeps
appending through it, and since both functions take the same table lock they serialize with
each other exactly as two calls of one function do. SQLite's schema is unchanged.
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

SIGNATURE = "event_store_append(uuid[], text[], jsonb[], jsonb[], jsonb[], jsonb[], jsonb[], bigint)"

# One round trip per append: lock, idempotency check, condition check, insert.
#
# * Events arrive as parallel arrays (id, type, data, metadata, tags: a JSON array of
#   strings, as `events.tags` stores it). A condition arrives as two parallel arrays with
#   one element per query item, each a JSON array: the item's types and its tags (an item
#   with neither matches every event); NULL arrays mean no condition.
# * Every statement runs a generic plan, made once per connection: with custom plans
#   (PostgreSQL's choice here, since a plan for one array element looks cheaper than one
#   for any number) each call planned its statements again, about 40 µs.
# * EXCLUSIVE mode blocks other appenders (they take the same lock) but not readers, and is
#   held to commit, so positions become visible strictly in order and a condition can never
#   miss an event that commits concurrently. Each statement below takes a fresh READ
#   COMMITTED snapshot, i.e. one taken after the lock was granted.
# * A batch whose ids are all stored, in order and with the same types, is a retry of an
#   append that already happened: its last position is returned and nothing is written.
#   Any other reuse of a stored id raises SQLSTATE TAM01 naming the first such id. This
#   runs before the condition, which a retried claim would fail on its own first attempt.
#   Fresh ids, the usual case, cost one probe of the unique index.
# * An item with tags starts from the (tag, position) primary key at its first tag. Most
#   conditions find nothing there after `p_after` (a fresh claim, a step appended at the
#   head it read) and stop after that probe; otherwise `events` is joined by position to
#   check the other tags (`@>`) and the type (`?`: the JSON array holds it). Neither test can
#   use an index, so the planner has no other way in: given `type = ANY (...)` it could
#   start from a common type's events and scan thousands of rows to find none (measured
#   under 0001: 7 ms instead of 0.2). A type-only item looks for each of its types on its
#   own, in a statement planned for that type (EXECUTE): which index finds the first event of
#   a type after a position fastest depends on how common the type is, which only a plan made
#   for the value knows. A generic plan walks the primary key, through the whole table for a
#   type that is rare or absent. Such items are rare; the planning costs them ~0.1 ms. The
#   first match over all items raises SQLSTATE TAM02 with its position.
# * Positions come from the identity column in the order of the events (`ORDER BY ord`), and
#   the tag rows are inserted from the rows just inserted, in the same statement.
APPEND_FUNCTION = r"""
CREATE OR REPLACE FUNCTION event_store_append(
    p_ids uuid[], p_types text[], p_data jsonb[], p_metadata jsonb[], p_tags jsonb[],
    p_item_types jsonb[], p_item_tags jsonb[], p_after bigint)
RETURNS bigint
LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan
AS $fn$
DECLARE
    v_count integer := cardinality(p_ids);
    v_stored integer;
    v_last bigint;
    v_duplicate uuid;
    v_type text;
    v_found bigint;
    v_conflict bigint;
BEGIN
    LOCK TABLE events IN EXCLUSIVE MODE;

    IF EXISTS (SELECT FROM events WHERE id = ANY (p_ids)) THEN
        SELECT count(*), max(position) INTO v_stored, v_last FROM events WHERE id = ANY (p_ids);
        IF v_stored = v_count AND NOT EXISTS (
            SELECT
              FROM unnest(p_ids, p_types) WITH ORDINALITY AS n(id, type, ord)
              JOIN events e ON e.id = n.id
             WHERE e.type <> n.type OR e.position <> v_last - v_count + n.ord
        ) THEN
            RETURN v_last;
        END IF;
        SELECT n.id INTO v_duplicate
          FROM unnest(p_ids) WITH ORDINALITY AS n(id, ord)
         WHERE EXISTS (SELECT FROM events e WHERE e.id = n.id)
         ORDER BY n.ord LIMIT 1;
        RAISE EXCEPTION 'duplicate event id' USING ERRCODE = 'TAM01', DETAIL = v_duplicate::text;
    END IF;

    FOR i IN 1 .. coalesce(cardinality(p_item_tags), 0) LOOP
        IF p_item_tags[i] <> '[]' THEN
            IF EXISTS (SELECT FROM event_tags WHERE tag = p_item_tags[i] ->> 0 AND position > p_after) THEN
                SELECT t.position INTO v_found
                  FROM event_tags t JOIN events e ON e.position = t.position
                 WHERE t.tag = p_item_tags[i] ->> 0 AND t.position > p_after
                   AND e.tags @> p_item_tags[i]
                   AND (p_item_types[i] = '[]' OR p_item_types[i] ? e.type)
                 ORDER BY t.position LIMIT 1;
                v_conflict := least(v_conflict, v_found);
            END IF;
        ELSIF p_item_types[i] <> '[]' THEN
            FOR v_type IN SELECT jsonb_array_elements_text(p_item_types[i]) LOOP
                EXECUTE 'SELECT position FROM events WHERE type = $1 AND position > $2
                          ORDER BY position LIMIT 1'
                   INTO v_found USING v_type, p_after;
                v_conflict := least(v_conflict, v_found);
            END LOOP;
        ELSE
            SELECT position INTO v_found FROM events WHERE position > p_after ORDER BY position LIMIT 1;
            v_conflict := least(v_conflict, v_found);
        END IF;
    END LOOP;
    IF v_conflict IS NOT NULL THEN
        RAISE EXCEPTION 'append condition failed' USING ERRCODE = 'TAM02', DETAIL = v_conflict::text;
    END IF;

    WITH inserted AS (
        INSERT INTO events (id, type, data, metadata, tags, recorded_at)
        SELECT n.id, n.type, n.data, n.metadata, n.tags, clock_timestamp()
          FROM unnest(p_ids, p_types, p_data, p_metadata, p_tags)
               WITH ORDINALITY AS n(id, type, data, metadata, tags, ord)
         ORDER BY n.ord
        RETURNING position, tags
    ), tagged AS (
        INSERT INTO event_tags (tag, position)
        SELECT t.tag, inserted.position
          FROM inserted, jsonb_array_elements_text(inserted.tags) AS t(tag)
    )
    SELECT max(position) INTO v_last FROM inserted;
    RETURN v_last;
END
$fn$;
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(APPEND_FUNCTION)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"DROP FUNCTION IF EXISTS {SIGNATURE}")
