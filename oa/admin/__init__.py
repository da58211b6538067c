from oa.admin import audit, calendar, delegation, directory, events, work  # noqa: F401 - registers the ModelAdmins
