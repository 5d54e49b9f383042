"""Intake: Event Grid deliveries in, analysis jobs out (parsing, the webhook's decisions, the job format)."""
