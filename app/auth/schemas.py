from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, EmailStr, Field

from app.auth.models import Role
from app.i18n import N_, Language
from app.text import OneLine
from app.time_zones import is_zone

SLUG_PATTERN = r"^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$"
NAME_MAX_LENGTH = 200  # the width of every name column


Name = Annotated[OneLine, Field(min_length=1, max_length=NAME_MAX_LENGTH)]


def _known_zone(value: str) -> str:
    if not is_zone(value):
        # Not repeated: a message never echoes what the caller sent.
        raise ValueError(N_("not a known IANA time zone name, such as Europe/Paris or UTC"))
    return value


TimeZone = Annotated[str, Field(min_length=1, max_length=64, examples=["Europe/Paris"],
                                description="IANA time zone; deadlines end with its local day"),
                     AfterValidator(_known_zone)]


class OrganizationCreate(BaseModel):
    name: Name
    slug: str = Field(pattern=SLUG_PATTERN, max_length=64)


class OrganizationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    slug: str
    name: str
    time_zone: str
    created_at: datetime


class OrganizationUpdate(BaseModel):
    time_zone: TimeZone


class WhoAmI(BaseModel):
    organization: OrganizationRead
    role: Role
    actor: str


class ApiKeyCreate(BaseModel):
    name: Name
    role: Role


class ApiKeyRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    name: str
    role: Role
    prefix: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="The secret key. Shown only in this response; store it now.")


class UserCreate(BaseModel):
    email: EmailStr
    name: Name
    role: Literal[Role.admin, Role.reviewer] = Role.reviewer
    password: str = Field(min_length=10, max_length=200)
    language: Language = "en"


class UserUpdate(BaseModel):
    language: Language


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    email: str
    name: str
    role: Role
    is_active: bool
    language: str
    created_at: datetime
    last_login_at: datetime | None
