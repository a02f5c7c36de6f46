"""The operator's control channel: commands from a second process to the running bot.

A request (:class:`ControlRequest`) is written into the bot's store by an operator command
(``bitunix-bot pause``, ``order place``...), taken by the bot that holds the store's lease
on its event loop, executed through that bot's own risk gate and execution engine (so its
order state machine, reconciliation and store stay the one truth) and answered in the store
(:class:`ControlAnswer`). The bot also records where it is and how it is doing
(:class:`BotInfo`, :class:`BotStatus`) for the read commands. See
``docs/adr/0002-operator-control-channel.md`` and ``docs/operations-commands.md``.
"""

from bitunix.control.channel import StoreChannel
from bitunix.control.messages import (
    ACTIONS,
    BotInfo,
    BotStatus,
    ControlAnswer,
    ControlRequest,
    decode_answer,
    decode_request,
    encode,
    new_request,
)

__all__ = [
    "ACTIONS",
    "BotInfo",
    "BotStatus",
    "ControlAnswer",
    "ControlRequest",
    "StoreChannel",
    "decode_answer",
    "decode_request",
    "encode",
    "new_request",
]
