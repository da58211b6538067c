from oa.admin import audit, auth, calendar, delegation, directory, events, work  # noqa: F401 - registers the ModelAdmins
