from oa.models.audit import AuditChainHead, AuditEntry
from oa.models.calendar import CalendarDay, CalendarYear
from oa.models.delegation import Delegation
from oa.models.directory import (
    TWO_FACTOR_ROLES,
    Agency,
    Appointment,
    Department,
    Person,
    Post,
    Role,
    RoleAssignment,
)
from oa.models.security import PasswordHistory

__all__ = [
    "TWO_FACTOR_ROLES",
    "Agency",
    "Appointment",
    "AuditChainHead",
    "AuditEntry",
    "CalendarDay",
    "CalendarYear",
    "Delegation",
    "Department",
    "PasswordHistory",
    "Person",
    "Post",
    "Role",
    "RoleAssignment",
]
