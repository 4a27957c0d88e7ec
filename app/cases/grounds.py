"""Which refusal grounds fit which request (GDPR Art. 17(3), 21(1), 21(2)/(3), 21(6), 11(2), 12(5)).

An erasure may be refused on one of the points of Art. 17(3). An objection depends on what it is
against: on the person's particular situation (21(1)) the provider may show compelling
legitimate grounds; against direct marketing (21(2)/(3)) it cannot refuse on those grounds at
all; against research or statistics (21(6)) only when the processing is necessary for a task in
the public interest. Any request may be refused as manifestly unfounded or excessive (12(5)), or
because the person cannot be identified (11(2)), which leaves them a window to send more."""

from __future__ import annotations

from app.cases.models import Case, CaseKind, ObjectionBasis, RejectionGround
from app.errors import BadRequest

G = RejectionGround
B = ObjectionBasis

ART17_3 = frozenset({G.art17_3_a_expression, G.art17_3_b_legal_obligation,
                     G.art17_3_c_public_health, G.art17_3_d_research, G.art17_3_e_legal_claims})
ANY_REQUEST = frozenset({G.manifestly_unfounded_or_excessive, G.cannot_identify})
FOR_OBJECTION = {
    B.particular_situation: frozenset({G.art21_1_compelling_grounds}),
    B.direct_marketing: frozenset(),
    B.research: frozenset({G.art21_6_public_interest_research}),
}


def allowed_grounds(case: Case) -> frozenset[RejectionGround]:
    if case.kind == CaseKind.erasure:
        return ART17_3 | ANY_REQUEST
    basis = ObjectionBasis(case.objection_basis or B.particular_situation)
    return FOR_OBJECTION[basis] | ANY_REQUEST


def check_ground(case: Case, ground: RejectionGround) -> None:
    """Refuse (400, nothing changed) a ground that cannot answer this request."""
    if ground == G.art17_3_exception:
        raise BadRequest("ground: name the point of Art. 17(3) that applies "
                         "(art17_3_a_expression to art17_3_e_legal_claims)")
    if ground in allowed_grounds(case):
        return
    if ground in ART17_3:
        raise BadRequest("ground: the Art. 17(3) exceptions apply to erasure requests; this is "
                         f"an {case.kind}")
    basis = case.objection_basis or B.particular_situation
    if basis == B.direct_marketing:
        raise BadRequest("ground: an objection to direct marketing (Art. 21(2) and (3)) cannot "
                         "be refused on Art. 21(1) or 21(6) grounds")
    if ground == G.art21_1_compelling_grounds:
        raise BadRequest(f"ground: Art. 21(1) compelling grounds answer an objection based on "
                         f"the person's particular situation; this one is about {basis}")
    if ground == G.art21_6_public_interest_research:
        raise BadRequest("ground: Art. 21(6) answers an objection to processing for research "
                         f"or statistics; this one is about {basis}")
    raise BadRequest(f"ground: {ground.value} does not answer an {case.kind}")
