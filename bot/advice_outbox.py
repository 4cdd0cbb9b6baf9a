"""Advice waiting in the outbox: its kind, and when it no longer makes sense to send.

The conversation (bot.flows.advice) decides what advice to give and queues it; the reminders'
gate, below the conversation, only needs to know when a queued piece went stale.
"""

from __future__ import annotations

from bot.storage import OutboxMessage, Storage

KIND = "advice"


async def outdated(storage: Storage, message: OutboxMessage) -> bool:
    """Advice that waited too long to make sense: its applicant submitted or is on another question.

    (A newer part drops it when saved, and leaving the question gives it in the reply; this is for
    a backlog or a bot that was down while the applicant went on, say, in the terminal.)
    """
    if message.applicant_id is None:
        return True
    app = await storage.application(message.applicant_id)
    return app is None or app.status == "submitted" or app.step != f"q:{message.payload.get('question')}"
