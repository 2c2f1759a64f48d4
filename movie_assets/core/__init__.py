"""Core store and regeneration loop. Nothing in this package imports Dagster."""
