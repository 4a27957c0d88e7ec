from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.text import RequiredText

Text = Annotated[RequiredText, StringConstraints(strip_whitespace=True, min_length=1,
                                             max_length=2000)]
FIELDS = ("controller", "controller_contact", "dpo_contact", "purpose", "legal_basis",
          "retention", "recipients", "rights")


class NoticeTexts(BaseModel):
    """GDPR Art. 13(1)-(2) for the intake of a request, in one language."""

    model_config = ConfigDict(extra="forbid")

    controller: Text = Field(description="the controller's identity (Art. 13(1)(a))")
    controller_contact: Text = Field(description="how to contact the controller")
    dpo_contact: Text = Field(description="the data protection officer's contact (13(1)(b))")
    purpose: Text = Field(description="why the request's data is processed (13(1)(c))")
    legal_basis: Text = Field(description="the legal basis, e.g. Art. 6(1)(c) with Art. 12")
    retention: Text = Field(description="how long the data is kept (13(2)(a))")
    recipients: Text = Field(description="recipients or categories of recipients (13(1)(e))")
    rights: Text = Field(description="the person's rights and the right to complain to a "
                                     "supervisory authority (13(2)(b), (d))")


class PrivacyNoticeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    en: NoticeTexts
    fr: NoticeTexts


class PrivacyNoticeRead(PrivacyNoticeBody):
    organization: str
    updated_at: datetime
