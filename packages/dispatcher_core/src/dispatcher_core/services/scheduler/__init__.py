from dispatcher_core.services.scheduler.dispatcher_scheduler import DispatcherScheduler

__all__ = ["DispatcherScheduler"]
