from dispatcher_core.services.queue.queue_service import QueueService

__all__ = ["QueueService"]
