"""Observability: metrics (and, later, logging) in one place. Only this package imports `prometheus_client`."""
