"""Where notices go: Telegram's Bot API and a generic JSON webhook, over one aiohttp
session. ``send`` raises :class:`NotifyError` on any failure (the notifier retries and
logs); the message of the error never holds the token or the secret."""

from __future__ import annotations

import hashlib
import hmac
import json
from urllib.parse import urlsplit

import aiohttp

from bitunix.core.errors import BitunixError
from bitunix.notify.messages import Notice

__all__ = ["Channel", "NotifyError", "TelegramChannel", "WebhookChannel", "sign_body"]


class NotifyError(BitunixError):
    """A notice was not accepted (transport error, timeout, a non-2xx answer)."""


def sign_body(secret: str, body: bytes) -> str:
    """The webhook's signature header value: ``sha256=`` and the hex HMAC-SHA256 of the
    body under ``secret`` (what a receiver recomputes and compares)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class Channel:
    """A destination. ``name`` appears in the log lines."""

    name = "channel"

    async def send(self, session: aiohttp.ClientSession, notice: Notice, mode: str,
                   timeout_s: float) -> None:
        """Deliver ``notice`` or raise :class:`NotifyError`."""
        raise NotImplementedError

    def describe(self) -> str:
        """Where it sends, without secrets."""
        return self.name


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, *,
                headers: dict[str, str], timeout_s: float, what: str) -> bytes:
    try:
        async with session.post(url, data=body, headers=headers,
                                timeout=aiohttp.ClientTimeout(total=timeout_s)) as resp:
            answer = await resp.read()
            if not 200 <= resp.status < 300:
                raise NotifyError(f"{what}: HTTP {resp.status}")
            return answer
    except TimeoutError:
        raise NotifyError(f"{what}: no answer within {timeout_s} s") from None
    except aiohttp.ClientError as exc:
        # The exception's text can hold the URL (and Telegram's URL holds the token).
        raise NotifyError(f"{what}: {type(exc).__name__}") from None


class TelegramChannel(Channel):
    """``POST {base_url}/bot{token}/sendMessage`` with ``chat_id`` and the notice's text;
    accepted when Telegram answers ``{"ok": true}``."""

    name = "telegram"

    def __init__(self, *, token: str, chat_id: str,
                 base_url: str = "https://api.telegram.org") -> None:
        self._url = f"{base_url.rstrip('/')}/bot{token}/sendMessage"
        self.chat_id = chat_id

    def __repr__(self) -> str:
        return f"TelegramChannel(chat_id={self.chat_id!r}, token=***)"

    def describe(self) -> str:
        return f"telegram chat {self.chat_id}"

    async def send(self, session: aiohttp.ClientSession, notice: Notice, mode: str,
                   timeout_s: float) -> None:
        text = f"bitunix-bot [{mode}] {notice.text}"
        body = json.dumps({"chat_id": self.chat_id, "text": text,
                           "disable_web_page_preview": True}).encode()
        answer = await _post(session, self._url, body,
                             headers={"Content-Type": "application/json"},
                             timeout_s=timeout_s, what="telegram sendMessage")
        try:
            ok = json.loads(answer).get("ok") is True
        except (ValueError, AttributeError):
            ok = False
        if not ok:
            raise NotifyError("telegram sendMessage: the answer is not {\"ok\": true}")


class WebhookChannel(Channel):
    """``POST url`` with the notice as JSON (:meth:`Notice.payload`), signed with
    ``secret`` in ``signature_header`` when a secret is given; any 2xx accepts."""

    name = "webhook"

    def __init__(self, *, url: str, secret: str = "",
                 signature_header: str = "X-Bitunix-Signature") -> None:
        self.url = url
        self._secret = secret
        self.signature_header = signature_header

    def __repr__(self) -> str:
        return f"WebhookChannel(url={self.url!r}, secret={'***' if self._secret else ''})"

    def describe(self) -> str:
        parts = urlsplit(self.url)  # no user:password, no path (either can be a secret)
        port = f":{parts.port}" if parts.port else ""
        signed = "signed" if self._secret else "unsigned"
        return f"webhook {parts.scheme}://{parts.hostname}{port}/... ({signed})"

    async def send(self, session: aiohttp.ClientSession, notice: Notice, mode: str,
                   timeout_s: float) -> None:
        body = json.dumps(notice.payload(mode), separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json", "X-Bitunix-Event": notice.kind}
        if self._secret:
            headers[self.signature_header] = sign_body(self._secret, body)
        await _post(session, self.url, body, headers=headers, timeout_s=timeout_s,
                    what="webhook")
