from oa.models.announcements import Announcement
from oa.models.audit import AuditChainHead, AuditEntry
from oa.models.calendar import CalendarDay, CalendarYear
from oa.models.delegation import Delegation
from oa.models.directory import (
    ADMIN_ROLES,
    TWO_FACTOR_ROLES,
    Agency,
    Appointment,
    Department,
    Person,
    Post,
    Role,
    RoleAssignment,
)
from oa.models.events import ApiToken, Notification, NotificationDelivery, OutboxMessage
from oa.models.security import PasswordHistory
from oa.models.work import WorkItem

__all__ = [
    "ADMIN_ROLES",
    "TWO_FACTOR_ROLES",
    "Agency",
    "Announcement",
    "ApiToken",
    "Appointment",
    "AuditChainHead",
    "AuditEntry",
    "CalendarDay",
    "CalendarYear",
    "Delegation",
    "Department",
    "Notification",
    "NotificationDelivery",
    "OutboxMessage",
    "PasswordHistory",
    "Person",
    "Post",
    "Role",
    "RoleAssignment",
    "WorkItem",
]
