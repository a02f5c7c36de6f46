"""The control REST API served by a running bot, its token authentication, its OpenAPI
document, and the IP allowlist in front of every endpoint of the run's listener.

See ``docs/api.md``. :func:`~bitunix.api.observer.build_http_observers` gives
``bitunix-bot run`` its listener with the allowlist, the API and the observer that binds
them to the run.
"""

from bitunix.api.allowlist import IpAllowlist, RefusalCounts
from bitunix.api.errors import ApiError, ErrorBody
from bitunix.api.openapi import openapi_document
from bitunix.api.service import PREFIX, ROUTES, ControlApi
from bitunix.api.tokens import TokenTable, hash_token, new_token

__all__ = [
    "PREFIX",
    "ROUTES",
    "ApiError",
    "ControlApi",
    "ErrorBody",
    "IpAllowlist",
    "RefusalCounts",
    "TokenTable",
    "hash_token",
    "new_token",
    "openapi_document",
]
