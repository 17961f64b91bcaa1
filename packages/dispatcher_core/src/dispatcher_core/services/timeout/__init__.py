from dispatcher_core.services.timeout.timeout_policy import TimeoutCutoffs, TimeoutPolicy

__all__ = ["TimeoutCutoffs", "TimeoutPolicy"]
