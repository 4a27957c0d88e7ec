"""Rights Relay: GDPR objection and erasure requests against published AI models, propagated downstream."""

__version__ = "0.1.0"
