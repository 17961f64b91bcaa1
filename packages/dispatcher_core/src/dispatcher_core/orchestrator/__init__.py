from dispatcher_core.orchestrator.dispatcher_orchestrator import (
    AgentReply,
    DispatcherOrchestrator,
    DistributionResult,
    IncomingOutcome,
    TimeoutResult,
)

__all__ = ["AgentReply", "DispatcherOrchestrator", "DistributionResult", "IncomingOutcome", "TimeoutResult"]
