from oa.admin import audit, calendar, delegation, directory  # noqa: F401 - registers the ModelAdmins
