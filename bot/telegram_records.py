"""What the Telegram channel itself writes to the database: the only place it does.

Everything else the channel hands to the flows; these two facts are Telegram's own and are kept
by the channel: which updates were already handled (Telegram hands out again, after a crash, what
the bot fetched but had not confirmed), and who blocked the bot (so the office sees it).
"""

from __future__ import annotations

from bot.storage import Storage

CHANNEL = "telegram"


class TelegramRecords:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def first_sight(self, update_id: int) -> bool:
        """Note the update as handled; False if it was handled before (a redelivery after a restart)."""
        return await self._storage.first_sight(CHANNEL, update_id)

    async def blocked(self, user_id: int) -> None:
        """The user blocked the bot: nothing more can reach them on Telegram."""
        await self._storage.mark_blocked(CHANNEL, str(user_id))
