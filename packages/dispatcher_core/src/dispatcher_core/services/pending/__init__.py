from dispatcher_core.services.pending.pending_message_service import PendingMessageService

__all__ = ["PendingMessageService"]
