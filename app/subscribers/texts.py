"""The re-user pages' notices (after an action) and form errors, marked for the catalogs here
and translated where they are shown (`gettext`)."""

from __future__ import annotations

from app.i18n import N_

NOTICES = {
    "followed": N_("You now follow the model."),
    "unfollowed": N_("You no longer follow the model."),
    "endpoint_added": N_("Endpoint added. Its signing secret is shown in the table."),
    "replayed": N_("Failed deliveries queued again: {n}."),
    "replayed_one": N_("Delivery queued again."),
    "acknowledged": N_("Thank you: your acknowledgement is recorded."),
    "endpoint_removed": N_("Endpoint removed."),
    "rotated": N_("New secret created. The previous one keeps signing during the grace period."),
    "enabled": N_("Endpoint enabled."),
    "test_queued": N_("Test event queued: see the deliveries below."),
    "clause_accepted": N_("Thank you: your acceptance of the update clause is recorded."),
    "language": N_("Language saved: this page and your emails use it."),
    "declared": N_("Derivative declared: when a model it derives from is fixed, its followers "
                "are told and you are emailed."),
    "withdrawn": N_("Derivative withdrawn."),
}

MESSAGES = {
    "name": N_("Give the name of your organisation (up to 200 characters, no control characters)."),
    "email": N_("Give a valid email address: we send a link to confirm it."),
    "models": N_("Choose at least one model."),
    "endpoints": N_("Each webhook URL must start with https:// and be reachable on the public "
                 "internet (not a private, loopback or reserved address)."),
    "endpoints_dns": N_("A webhook URL names a host that does not resolve: no DNS record was "
                        "found for it. Check the spelling of the host name, or that its DNS "
                        "record exists."),
    "accept_clauses": N_("A model you chose binds its re-users by an update clause: read it and "
                      "tick the box to accept it."),
}
