"""Retention: closed conversations are purged once they are older than the configured time."""

from dispatcher_core.services.retention.retention_job import RetentionJob

__all__ = ["RetentionJob"]
