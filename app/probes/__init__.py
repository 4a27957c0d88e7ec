"""Regurgitation probes: the service asks the model itself whether it still reproduces a
subject's data (triage, verification of a fix, regression on later versions)."""
