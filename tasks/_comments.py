"""Posting a comment exactly once, across retries and crashes.

The comment carries a hidden marker (`<!-- tamma:<run>-<purpose> -->`). Before posting, the
run's events are asked ("posted already?") and then the platform ("is a comment with the marker
there?", which covers a crash between posting and recording); only if both say no is it posted.
"""

from __future__ import annotations

from tamma import event_types
from tamma.audit.run_state import run_state
from tamma.platforms import Comment, marker
from tasks._context import RunContext

__all__ = ["post_once"]


def post_once(ctx: RunContext, purpose: str, body: str) -> Comment | None:
    """Post `body` on the run's issue once per `purpose`; None if it was posted before."""
    if purpose in run_state(ctx.store, ctx.run_id).comments:
        return None
    key = marker(f"{ctx.run_id}-{purpose}")
    found = ctx.platform.find_comment(ctx.ref.number, key)
    comment = found or ctx.platform.add_comment(ctx.ref.number, f"{body}\n\n{key}")
    ctx.recorder.record(
        event_types.COMMENT_POSTED,
        purpose=purpose,
        comment_id=comment.id,
        author=comment.author,
        found_existing=found is not None,
    )
    return comment
