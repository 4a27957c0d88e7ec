"""Shared pieces of the public endpoints: the keyring, rate limits, the case behind a token."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Depends, Request

from app.config import Settings
from app.crypto import Keyring
from app.ratelimit import service as ratelimit
from app.requests.intake import Intake


def get_keyring(request: Request) -> Keyring:
    keyring: Keyring = request.app.state.keyring
    return keyring


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_intake(request: Request) -> Intake:
    intake: Intake = request.app.state.intake
    return intake


CurrentKeyring = Annotated[Keyring, Depends(get_keyring)]
CurrentIntake = Annotated[Intake, Depends(get_intake)]
CurrentSettings = Annotated[Settings, Depends(get_settings)]


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


async def limit_submissions_per_address(request: Request) -> None:
    """Counted before the body is even validated, so malformed floods are limited too."""
    settings = get_settings(request)
    await ratelimit.hit(request.app.state.sessionmaker, get_keyring(request), scope="submit-ip",
                        value=client_address(request),
                        limit=settings.rate_limit_ip_per_hour, window=timedelta(hours=1))


async def limit_token_use(request: Request) -> None:
    """Guessing confirmation or status tokens is hopeless (256 bits), and stays slow too."""
    settings = get_settings(request)
    await ratelimit.hit(request.app.state.sessionmaker, get_keyring(request), scope="token-ip",
                        value=client_address(request),
                        limit=settings.rate_limit_token_per_minute, window=timedelta(minutes=1))


TokenLimited = Depends(limit_token_use)
AddressLimited = Depends(limit_submissions_per_address)
