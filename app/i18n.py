"""English and French texts for the public pages, and language negotiation."""

from __future__ import annotations

from fastapi import Request

LANGUAGES = ("en", "fr")
LANG_COOKIE = "rr_lang"

MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "switch_to": "Français",
        "form.title": "Exercise your rights over an AI model",
        "form.intro": "If a published AI model may contain or reproduce personal data about you, "
                      "you can object to its processing (GDPR Article 21) or ask for it to be "
                      "erased (Article 17). The provider must answer within one month.",
        "form.errors_summary": "Please correct the marked fields.",
        "form.models": "Which models?",
        "form.models_hint": "Choose one or more.",
        "form.kind": "What do you ask for?",
        "form.kind.objection": "Objection (Article 21): stop processing my data in the model",
        "form.kind.erasure": "Erasure (Article 17): remove my data from the model",
        "form.name": "Your name",
        "form.email": "Your email address",
        "form.email_hint": "We send a link to confirm it. Your request goes ahead only then.",
        "form.description": "Which personal data about you is concerned?",
        "form.description_hint": "Describe the data and where it may come from. Up to 5000 characters.",
        "form.identifiers": "Other names or web addresses where the data appeared (optional)",
        "form.identifiers_hint": "One per line, up to 20.",
        "form.probe_prompts": "Prompts that make the model reveal the data (optional)",
        "form.probe_prompts_hint": "One per line, up to 10. For example: “Where does Jane Doe live?”",
        "form.submit": "Send my request",
        "form.no_models": "No model is accepting requests at the moment.",
        "form.basis": "If you object: what do you object to?",
        "form.basis_hint": "Only for an objection.",
        "form.basis.particular_situation": "The use of my data, because of my particular situation (Article "
                                           "21(1))",
        "form.basis.direct_marketing": "The use of my data for direct marketing (Article 21(2)): this cannot"
                                       " be refused",
        "form.basis.research": "The use of my data for research or statistics (Article 21(6))",
        "form.situation": "If you object: your particular situation",
        "form.situation_hint": "Why the use of your data affects you in particular. Required for an "
                               "objection, except to direct marketing.",
        "err.situation": "Describe your particular situation: an objection needs it (Article 21(1)).",
        "err.required": "This field is required.",
        "err.too_long": "This is too long (at most {max} characters).",
        "err.too_many": "Too many entries (at most {max}).",
        "err.email": "Enter a valid email address, like name@example.org.",
        "err.control": "This contains characters that cannot be used here (control characters "
                       "or, in a one-line field, a line break).",
        "err.models": "Choose at least one model.",
        "err.models_closed": "One of the chosen models no longer accepts requests.",
        "err.kind": "Choose objection or erasure.",
        "err.rate": "Too many requests from here. Please wait a while and try again.",
        "sent.title": "Check your email",
        "sent.body": "We have sent a confirmation link to the address you gave. Open it within "
                     "{days} days to send your request to the provider. If it does not arrive, "
                     "check your spam folder.",
        "confirm.title": "Confirm your request",
        "confirm.body": "Press the button to confirm your email address and send your request.",
        "confirm.button": "Confirm my request",
        "confirmed.title": "Your request is confirmed",
        "confirmed.body": "We have emailed you a receipt. Keep it: its link lets you follow your "
                          "request.",
        "confirmed.duplicate": "You already have a request open for this model: {ref}. We "
                               "linked this one to it.",
        "confirmed.follow": "Follow request {ref}",
        "status.title": "Request {ref}",
        "status.kind": "Kind",
        "status.models": "Models",
        "status.state": "Current state",
        "status.received": "Received",
        "status.due": "The provider must answer by",
        "status.timeline": "What has happened",
        "status.question": "The provider needs more information",
        "status.answer": "Your answer",
        "status.answer_button": "Send my answer",
        "status.withdraw": "Withdraw my request",
        "status.withdraw_confirm": "I want to withdraw this request",
        "status.complaint": "If you disagree with this decision, you have the right to lodge a "
                            "complaint with a supervisory authority (for example the CNIL in "
                            "France) and to seek a judicial remedy.",
        "kind.objection": "Objection (Article 21)",
        "kind.erasure": "Erasure (Article 17)",
        "state.pending_verification": "Waiting for email confirmation",
        "state.open": "Received, waiting for review",
        "state.in_review": "Under review",
        "state.awaiting_subject": "More information needed from you",
        "state.accepted": "Accepted",
        "state.rejected": "Rejected",
        "state.in_remediation": "The model is being fixed",
        "state.remediated": "A fixed version of the model has been released",
        "state.closed": "Closed",
        "state.withdrawn": "Withdrawn",
        "state.expired": "Expired (never confirmed)",
        "state.duplicate": "Linked to an earlier request",
        "step.case.received": "We received your request.",
        "step.case.confirmed": "You confirmed your email address; the request went to the provider.",
        "step.case.duplicate": "This request was linked to your earlier request.",
        "step.case.in_review": "The provider started reviewing your request.",
        "step.case.awaiting_subject": "The provider asked you for more information.",
        "step.case.subject_answered": "You answered the provider's question.",
        "step.case.more_information": "You sent more information to identify you; the request "
                                      "is being reviewed again.",
        "step.case.accepted": "Your request was accepted.",
        "step.case.rejected": "Your request was rejected.",
        "step.case.in_remediation": "The provider is fixing the model.",
        "step.case.remediated": "A fixed version of the model was released.",
        "step.case.reopened": "The fix did not fully work; the provider is fixing the model again.",
        "step.case.closed": "Your request was closed.",
        "step.case.withdrawn": "You withdrew your request.",
        "step.case.expired": "The request expired because it was never confirmed.",
        "step.case.extended": "The provider extended the deadline.",
        "step.case.review_resumed": "The provider resumed reviewing your request.",
        "step.case.remediation_stopped": "The fix of the model stopped; the provider will plan "
                                         "it again.",
        "step.case.partly_remediated": "One of the models was fixed; the others are still to "
                                       "be fixed.",
        "status.decision": "The provider's decision",
        "status.explanation": "The provider's explanation:",
        "status.extension": "The provider extended the deadline by {months} month(s). Reason "
                            "given:",
        "status.fixed": "Versions of the model released without your data",
        "status.closed": "Your request was closed on {date}.",
        "decision.accepted": "Your request was accepted. The provider will fix the model and "
                             "tell you when a version without your data is released.",
        "decision.rejected": "Your request was rejected.",
        "ground.art17_3_exception": "Reason: an exception to the right to erasure applies (GDPR "
                                    "Article 17(3), for example freedom of expression or a "
                                    "legal obligation).",
        "ground.art21_1_compelling_grounds": "Reason: the provider has compelling legitimate "
                                             "grounds which override your interests, rights and "
                                             "freedoms (GDPR Article 21(1)).",
        "ground.manifestly_unfounded_or_excessive": "Reason: the request is manifestly "
                                                    "unfounded or excessive (GDPR Article "
                                                    "12(5)).",
        "ground.cannot_identify": "Reason: the provider cannot identify you in the data of the "
                                  "model (GDPR Articles 11(2) and 12(2)).",
        "ground.art17_3_a_expression": "Reason: keeping the data is necessary for exercising the "
                                       "right of freedom of expression and information (GDPR "
                                       "Article 17(3)(a)).",
        "ground.art17_3_b_legal_obligation": "Reason: keeping the data is necessary to comply "
                                             "with a legal obligation or for a task in the "
                                             "public interest (GDPR Article 17(3)(b)).",
        "ground.art17_3_c_public_health": "Reason: keeping the data is necessary for reasons of "
                                          "public interest in public health (GDPR Article "
                                          "17(3)(c)).",
        "ground.art17_3_d_research": "Reason: the model serves archiving in the public interest, "
                                     "scientific or historical research or statistics, and "
                                     "removing your data from it would make that research "
                                     "impossible or seriously impair it, with safeguards in "
                                     "place (GDPR Articles 17(3)(d) and 89(1)).",
        "ground.art17_3_e_legal_claims": "Reason: keeping the data is necessary to establish, "
                                         "exercise or defend legal claims (GDPR Article "
                                         "17(3)(e)).",
        "ground.art21_6_public_interest_research": "Reason: the research or statistics the "
                                                   "model serves are necessary for a task "
                                                   "carried out in the public interest (GDPR "
                                                   "Article 21(6)).",
        "status.identify": "The provider could not identify you. You may send more information "
                           "that lets them find your data (GDPR Article 11(2)) until {date}; "
                           "your request will then be reviewed again.",
        "status.identify_button": "Send this information",
        "status.restricted": "Since {date}, the provider has restricted the processing of your "
                             "data while it examines your request (GDPR Article 18).",
        "step.case.restricted": "The provider restricted the processing of your data while it "
                                "examines your request.",
        "step.case.restriction_lifted": "The provider lifted the restriction on your data.",
        "notice.title": "How your request is handled (GDPR Article 13)",
        "notice.missing": "This provider has not published its notice yet; ask it directly.",
        "notice.controller": "Controller",
        "notice.controller_contact": "Contact",
        "notice.dpo_contact": "Data protection officer",
        "notice.purpose": "Purpose",
        "notice.legal_basis": "Legal basis",
        "notice.retention": "How long the data is kept",
        "notice.recipients": "Recipients",
        "notice.rights": "Your rights",
        "status.clock": "A request from the provider for more information does not stop this "
                        "deadline.",
        "status.recipients": "Who was told of the correction",
        "status.recipients_intro": "The provider told those who re-use the model, and the "
                                   "providers of models derived from it, to replace their "
                                   "copies (GDPR Article 19).",
        "status.recipient": "Recipient",
        "status.sent": "Sent",
        "status.delivered": "Delivered",
        "status.acknowledged": "Confirmed",
        "recipient.re_user": "re-user of the model",
        "recipient.derived_model_provider": "provider of a derived model",
        "status.identify_label": "Information that identifies you in the model's data",
        "step.other": "The request was updated.",
        "link.invalid": "This link is not valid. Check that you copied all of it.",
        "link.used": "This request is already confirmed. The link to follow it is in your receipt email.",
        "link.expired": "This link has expired. Please file your request again.",
    },
    "fr": {
        "switch_to": "English",
        "form.title": "Exercer vos droits sur un modèle d'IA",
        "form.intro": "Si un modèle d'IA publié peut contenir ou reproduire des données "
                      "personnelles vous concernant, vous pouvez vous opposer à leur traitement "
                      "(article 21 du RGPD) ou en demander l'effacement (article 17). Le "
                      "fournisseur doit vous répondre dans un délai d'un mois.",
        "form.errors_summary": "Veuillez corriger les champs signalés.",
        "form.models": "Quels modèles ?",
        "form.models_hint": "Choisissez-en un ou plusieurs.",
        "form.kind": "Que demandez-vous ?",
        "form.kind.objection": "Opposition (article 21) : cesser de traiter mes données dans le modèle",
        "form.kind.erasure": "Effacement (article 17) : retirer mes données du modèle",
        "form.name": "Votre nom",
        "form.email": "Votre adresse e-mail",
        "form.email_hint": "Nous vous envoyons un lien pour la confirmer. Votre demande n'est "
                           "transmise qu'ensuite.",
        "form.description": "Quelles données personnelles vous concernant sont en cause ?",
        "form.description_hint": "Décrivez les données et leur origine possible. 5000 caractères au plus.",
        "form.identifiers": "Autres noms ou adresses web où les données sont apparues (facultatif)",
        "form.identifiers_hint": "Un par ligne, 20 au plus.",
        "form.probe_prompts": "Questions qui amènent le modèle à révéler ces données (facultatif)",
        "form.probe_prompts_hint": "Une par ligne, 10 au plus. Par exemple : « Où habite Jeanne Dupont ? »",
        "form.submit": "Envoyer ma demande",
        "form.no_models": "Aucun modèle n'accepte de demandes pour le moment.",
        "form.basis": "Si vous vous opposez : à quoi vous opposez-vous ?",
        "form.basis_hint": "Uniquement pour une opposition.",
        "form.basis.particular_situation": "À l'utilisation de mes données, pour des raisons tenant à ma "
                                           "situation particulière (article 21, paragraphe 1)",
        "form.basis.direct_marketing": "À l'utilisation de mes données à des fins de prospection (article "
                                       "21, paragraphe 2) : elle ne peut pas être refusée",
        "form.basis.research": "À l'utilisation de mes données à des fins de recherche ou de statistiques "
                               "(article 21, paragraphe 6)",
        "form.situation": "Si vous vous opposez : votre situation particulière",
        "form.situation_hint": "En quoi l'utilisation de vos données vous touche particulièrement. "
                               "Obligatoire pour une opposition, sauf à la prospection.",
        "err.situation": "Décrivez votre situation particulière : une opposition l'exige (article 21, "
                         "paragraphe 1).",
        "err.required": "Ce champ est obligatoire.",
        "err.too_long": "C'est trop long ({max} caractères au plus).",
        "err.too_many": "Trop d'entrées ({max} au plus).",
        "err.email": "Saisissez une adresse e-mail valide, comme nom@exemple.fr.",
        "err.control": "Ce texte contient des caractères qui ne peuvent pas être utilisés ici "
                       "(caractères de contrôle ou, dans un champ d'une ligne, un saut de ligne).",
        "err.models": "Choisissez au moins un modèle.",
        "err.models_closed": "L'un des modèles choisis n'accepte plus de demandes.",
        "err.kind": "Choisissez opposition ou effacement.",
        "err.rate": "Trop de demandes ont été envoyées depuis votre connexion. Veuillez patienter "
                    "puis réessayer.",
        "sent.title": "Consultez vos e-mails",
        "sent.body": "Nous avons envoyé un lien de confirmation à l'adresse indiquée. Ouvrez-le "
                     "dans les {days} jours pour transmettre votre demande au fournisseur. S'il "
                     "n'arrive pas, vérifiez vos courriers indésirables.",
        "confirm.title": "Confirmez votre demande",
        "confirm.body": "Appuyez sur le bouton pour confirmer votre adresse e-mail et transmettre "
                        "votre demande.",
        "confirm.button": "Confirmer ma demande",
        "confirmed.title": "Votre demande est confirmée",
        "confirmed.body": "Nous vous avons envoyé un accusé de réception par e-mail. Gardez-le : "
                          "son lien vous permet de suivre votre demande.",
        "confirmed.duplicate": "Vous avez déjà une demande en cours pour ce modèle : {ref}. "
                               "Nous y avons rattaché celle-ci.",
        "confirmed.follow": "Suivre la demande {ref}",
        "status.title": "Demande {ref}",
        "status.kind": "Type",
        "status.models": "Modèles",
        "status.state": "État actuel",
        "status.received": "Reçue le",
        "status.due": "Le fournisseur doit répondre au plus tard le",
        "status.timeline": "Historique",
        "status.question": "Le fournisseur a besoin de précisions",
        "status.answer": "Votre réponse",
        "status.answer_button": "Envoyer ma réponse",
        "status.withdraw": "Retirer ma demande",
        "status.withdraw_confirm": "Je souhaite retirer cette demande",
        "status.complaint": "Si vous contestez cette décision, vous avez le droit d'introduire "
                            "une réclamation auprès d'une autorité de contrôle (par exemple la "
                            "CNIL en France) et de former un recours juridictionnel.",
        "kind.objection": "Opposition (article 21)",
        "kind.erasure": "Effacement (article 17)",
        "state.pending_verification": "En attente de confirmation de l'e-mail",
        "state.open": "Reçue, en attente d'examen",
        "state.in_review": "En cours d'examen",
        "state.awaiting_subject": "Précisions attendues de votre part",
        "state.accepted": "Acceptée",
        "state.rejected": "Refusée",
        "state.in_remediation": "Le modèle est en cours de correction",
        "state.remediated": "Une version corrigée du modèle a été publiée",
        "state.closed": "Clôturée",
        "state.withdrawn": "Retirée",
        "state.expired": "Expirée (jamais confirmée)",
        "state.duplicate": "Rattachée à une demande antérieure",
        "step.case.received": "Nous avons reçu votre demande.",
        "step.case.confirmed": "Vous avez confirmé votre adresse e-mail ; la demande a été "
                               "transmise au fournisseur.",
        "step.case.duplicate": "Cette demande a été rattachée à votre demande antérieure.",
        "step.case.in_review": "Le fournisseur a commencé l'examen de votre demande.",
        "step.case.awaiting_subject": "Le fournisseur vous a demandé des précisions.",
        "step.case.subject_answered": "Vous avez répondu à la question du fournisseur.",
        "step.case.more_information": "Vous avez envoyé des informations pour vous identifier ; "
                                      "la demande est réexaminée.",
        "step.case.accepted": "Votre demande a été acceptée.",
        "step.case.rejected": "Votre demande a été refusée.",
        "step.case.in_remediation": "Le fournisseur corrige le modèle.",
        "step.case.remediated": "Une version corrigée du modèle a été publiée.",
        "step.case.reopened": "La correction n'a pas entièrement suffi ; le fournisseur corrige "
                              "à nouveau le modèle.",
        "step.case.closed": "Votre demande a été clôturée.",
        "step.case.withdrawn": "Vous avez retiré votre demande.",
        "step.case.expired": "La demande a expiré faute de confirmation.",
        "step.case.extended": "Le fournisseur a prolongé le délai de réponse.",
        "step.case.review_resumed": "Le fournisseur a repris l'examen de votre demande.",
        "step.case.remediation_stopped": "La correction du modèle s'est interrompue ; le "
                                         "fournisseur la planifiera à nouveau.",
        "step.case.partly_remediated": "L'un des modèles a été corrigé ; les autres restent à "
                                       "corriger.",
        "status.decision": "La décision du fournisseur",
        "status.explanation": "L'explication du fournisseur :",
        "status.extension": "Le fournisseur a prolongé le délai de {months} mois. Motif "
                            "indiqué :",
        "status.fixed": "Versions du modèle publiées sans vos données",
        "status.closed": "Votre demande a été clôturée le {date}.",
        "decision.accepted": "Votre demande a été acceptée. Le fournisseur va corriger le "
                             "modèle et vous informera de la publication d'une version sans "
                             "vos données.",
        "decision.rejected": "Votre demande a été refusée.",
        "ground.art17_3_exception": "Motif : une exception au droit à l'effacement s'applique "
                                    "(article 17, paragraphe 3, du RGPD, par exemple la liberté "
                                    "d'expression ou une obligation légale).",
        "ground.art21_1_compelling_grounds": "Motif : le fournisseur a des motifs légitimes et "
                                             "impérieux qui prévalent sur vos intérêts, droits "
                                             "et libertés (article 21, paragraphe 1, du RGPD).",
        "ground.manifestly_unfounded_or_excessive": "Motif : la demande est manifestement "
                                                    "infondée ou excessive (article 12, "
                                                    "paragraphe 5, du RGPD).",
        "ground.cannot_identify": "Motif : le fournisseur n'est pas en mesure de vous identifier "
                                  "dans les données du modèle (articles 11, paragraphe 2, et 12, "
                                  "paragraphe 2, du RGPD).",
        "ground.art17_3_a_expression": "Motif : la conservation des données est nécessaire à "
                                       "l'exercice du droit à la liberté d'expression et "
                                       "d'information (article 17, paragraphe 3, point a), du "
                                       "RGPD).",
        "ground.art17_3_b_legal_obligation": "Motif : la conservation des données est nécessaire "
                                             "pour respecter une obligation légale ou exécuter "
                                             "une mission d'intérêt public (article 17, "
                                             "paragraphe 3, point b), du RGPD).",
        "ground.art17_3_c_public_health": "Motif : la conservation des données est nécessaire "
                                          "pour des motifs d'intérêt public dans le domaine de la "
                                          "santé publique (article 17, paragraphe 3, point c), "
                                          "du RGPD).",
        "ground.art17_3_d_research": "Motif : le modèle sert à des fins archivistiques dans "
                                     "l'intérêt public, de recherche scientifique ou historique "
                                     "ou statistiques, et retirer vos données du modèle rendrait "
                                     "ces recherches impossibles ou les compromettrait "
                                     "gravement, avec des garanties appropriées (articles 17, "
                                     "paragraphe 3, point d), et 89, paragraphe 1, du RGPD).",
        "ground.art17_3_e_legal_claims": "Motif : la conservation des données est nécessaire à "
                                         "la constatation, à l'exercice ou à la défense de "
                                         "droits en justice (article 17, paragraphe 3, point "
                                         "e), du RGPD).",
        "ground.art21_6_public_interest_research": "Motif : les recherches ou statistiques "
                                                   "auxquelles sert le modèle sont nécessaires "
                                                   "à l'exécution d'une mission d'intérêt "
                                                   "public (article 21, paragraphe 6, du RGPD).",
        "status.identify": "Le fournisseur n'a pas pu vous identifier. Vous pouvez envoyer, "
                           "jusqu'au {date}, des informations complémentaires qui lui "
                           "permettent de retrouver vos données (article 11, paragraphe 2, du "
                           "RGPD) ; votre demande sera alors réexaminée.",
        "status.identify_button": "Envoyer ces informations",
        "status.restricted": "Depuis le {date}, le fournisseur limite le traitement de vos "
                             "données pendant l'examen de votre demande (article 18 du RGPD).",
        "step.case.restricted": "Le fournisseur a limité le traitement de vos données pendant "
                                "l'examen de votre demande.",
        "step.case.restriction_lifted": "Le fournisseur a levé la limitation du traitement de "
                                        "vos données.",
        "notice.title": "Comment votre demande est traitée (article 13 du RGPD)",
        "notice.missing": "Ce fournisseur n'a pas encore publié sa notice ; interrogez-le "
                          "directement.",
        "notice.controller": "Responsable du traitement",
        "notice.controller_contact": "Contact",
        "notice.dpo_contact": "Délégué à la protection des données",
        "notice.purpose": "Finalité",
        "notice.legal_basis": "Base légale",
        "notice.retention": "Durée de conservation",
        "notice.recipients": "Destinataires",
        "notice.rights": "Vos droits",
        "status.clock": "Une demande d'informations complémentaires du fournisseur ne suspend "
                        "pas ce délai.",
        "status.recipients": "Qui a été informé de la correction",
        "status.recipients_intro": "Le fournisseur a demandé à ceux qui réutilisent le modèle, et "
                                   "aux fournisseurs des modèles qui en dérivent, de remplacer "
                                   "leurs copies (article 19 du RGPD).",
        "status.recipient": "Destinataire",
        "status.sent": "Envoyé le",
        "status.delivered": "Remis le",
        "status.acknowledged": "Confirmé le",
        "recipient.re_user": "réutilisateur du modèle",
        "recipient.derived_model_provider": "fournisseur d'un modèle dérivé",
        "status.identify_label": "Informations qui vous identifient dans les données du modèle",
        "step.other": "La demande a été mise à jour.",
        "link.invalid": "Ce lien n'est pas valide. Vérifiez que vous l'avez copié en entier.",
        "link.used": "Cette demande est déjà confirmée. Le lien pour la suivre figure dans votre "
                     "accusé de réception.",
        "link.expired": "Ce lien a expiré. Veuillez déposer à nouveau votre demande.",
    },
}


# Re-users bound and known (issue 14): the public model page and update clauses.
MESSAGES["en"].update({
    "model.provider": "Provider",
    "model.licence": "Licence (SPDX)",
    "model.no_licence": "Not stated",
    "model.homepage": "Home page",
    "model.derived_from": "Derived from",
    "model.published_elsewhere": "Published outside Rights Relay and declared by a re-user.",
    "model.gated": "Downloads require registration: follow the model, confirm your address, "
                   "then obtain a short-lived access grant. Every grant is recorded.",
    "model.open_download": "Downloads do not require registration.",
    "model.versions": "Versions",
    "model.version": "Version",
    "model.revision": "Revision",
    "model.status": "Status",
    "model.released": "Released",
    "model.status.current": "current",
    "model.status.superseded": "superseded: replace your copies",
    "model.status.withdrawn": "withdrawn: delete your copies",
    "model.no_versions": "No version is registered yet.",
    "model.follow": "Follow this model (webhooks, emails)",
    "model.feeds": "Feeds",
    "model.file_request": "File a data-protection request about this model",
    "clause.title": "Update clause",
    "clause.intro": "Re-users of this model undertake to take into account the provider's "
                    "updates, in particular the fixes made after data-protection requests, and "
                    "to pass this obligation on to their own re-users.",
    "clause.version": "Version {version}, published {date}",
    "clause.read": "Read the clause",
    "clause.external": "The provider's page for this clause",
    "clause.none": "The provider has not published an update clause for this model.",
    "clause.other_language": "In French",
})
MESSAGES["fr"].update({
    "model.provider": "Fournisseur",
    "model.licence": "Licence (SPDX)",
    "model.no_licence": "Non précisée",
    "model.homepage": "Page d'accueil",
    "model.derived_from": "Dérivé de",
    "model.published_elsewhere": "Publié hors de Rights Relay et déclaré par un réutilisateur.",
    "model.gated": "Le téléchargement demande une inscription : suivez le modèle, confirmez "
                   "votre adresse, puis obtenez une autorisation d'accès de courte durée. "
                   "Chaque autorisation est enregistrée.",
    "model.open_download": "Le téléchargement ne demande pas d'inscription.",
    "model.versions": "Versions",
    "model.version": "Version",
    "model.revision": "Révision",
    "model.status": "État",
    "model.released": "Publiée le",
    "model.status.current": "actuelle",
    "model.status.superseded": "remplacée : remplacez vos copies",
    "model.status.withdrawn": "retirée : supprimez vos copies",
    "model.no_versions": "Aucune version n'est encore enregistrée.",
    "model.follow": "Suivre ce modèle (webhooks, e-mails)",
    "model.feeds": "Flux",
    "model.file_request": "Déposer une demande relative à vos données sur ce modèle",
    "clause.title": "Clause de mise à jour",
    "clause.intro": "Les réutilisateurs de ce modèle s'engagent à tenir compte de ses mises à "
                    "jour, notamment des correctifs faits à la suite de demandes relatives aux "
                    "données personnelles, et à transmettre cette obligation à leurs propres "
                    "réutilisateurs.",
    "clause.version": "Version {version}, publiée le {date}",
    "clause.read": "Lire la clause",
    "clause.external": "La page du fournisseur pour cette clause",
    "clause.none": "Le fournisseur n'a pas publié de clause de mise à jour pour ce modèle.",
    "clause.other_language": "En anglais",
})


# Workspace (issue 11): the subject's status and confirmation pages.
MESSAGES["en"].update({
    "status.answered": "Thank you: your answer was sent to the provider. They will continue "
                       "reviewing your request.",
    "status.exchange": "Your exchange with the provider",
    "status.exchange.question": "The provider asked",
    "status.exchange.answer": "You answered",
    "status.final.closed": "This request is closed. The provider will take no further action "
                           "on it.",
    "status.final.withdrawn": "You withdrew this request. It is closed and the provider will "
                              "take no further action on it.",
    "status.final.duplicate": "This request is closed because it repeats an earlier request "
                              "of yours, which the provider is handling.",
    "status.final.expired": "This request is closed: its email address was never confirmed.",
    "confirmed.due": "The provider must answer by {date}.",
})
MESSAGES["fr"].update({
    "status.answered": "Merci : votre réponse a été transmise au fournisseur. Il poursuit "
                       "l'examen de votre demande.",
    "status.exchange": "Vos échanges avec le fournisseur",
    "status.exchange.question": "Le fournisseur a demandé",
    "status.exchange.answer": "Vous avez répondu",
    "status.final.closed": "Cette demande est clôturée. Le fournisseur n'y donnera plus suite.",
    "status.final.withdrawn": "Vous avez retiré cette demande. Elle est clôturée et le "
                              "fournisseur n'y donnera plus suite.",
    "status.final.duplicate": "Cette demande est clôturée car elle reprend une demande "
                              "antérieure de votre part, que le fournisseur traite.",
    "status.final.expired": "Cette demande est clôturée : son adresse e-mail n'a jamais été "
                            "confirmée.",
    "confirmed.due": "Le fournisseur doit répondre avant le {date}.",
})


def translate(lang: str, key: str, **values: object) -> str:
    text = MESSAGES.get(lang, MESSAGES["en"]).get(key) or MESSAGES["en"].get(key) or key
    return text.format(**values) if values else text


def negotiate(request: Request, default: str | None = None) -> str:
    """?lang= beats the cookie set by the switch, which beats Accept-Language."""
    explicit = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if explicit in LANGUAGES:
        return explicit
    if default in LANGUAGES:
        return default
    best, best_q = "en", -1.0
    for part in request.headers.get("accept-language", "").split(","):
        tag, _, params = part.strip().partition(";")
        lang = tag.strip().lower()[:2]
        try:
            q = float(params.strip()[2:]) if params.strip().startswith("q=") else 1.0
        except ValueError:
            q = 0.0
        if lang in LANGUAGES and q > best_q:
            best, best_q = lang, q
    return best
