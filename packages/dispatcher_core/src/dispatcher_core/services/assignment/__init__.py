from dispatcher_core.services.assignment.assignment_service import AssignmentService

__all__ = ["AssignmentService"]
