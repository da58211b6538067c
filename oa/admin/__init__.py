from oa.admin import (  # noqa: F401 - registers the ModelAdmins
    announcements,
    audit,
    auth,
    calendar,
    delegation,
    directory,
    events,
    work,
)
