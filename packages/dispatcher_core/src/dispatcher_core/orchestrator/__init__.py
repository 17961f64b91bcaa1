from dispatcher_core.orchestrator.dispatcher_orchestrator import (
    DispatcherOrchestrator,
    DistributionResult,
    IncomingOutcome,
    TimeoutResult,
)

__all__ = ["DispatcherOrchestrator", "DistributionResult", "IncomingOutcome", "TimeoutResult"]
