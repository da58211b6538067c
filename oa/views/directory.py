"""通讯录: agency/department tree, department members, one person, search by name.

Every object is loaded through oa.selectors.directory.access_*_by_id, which answers 404 for anything missing
or invisible.
"""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from oa.forms import DirectorySearchForm
from oa.selectors.directory import (
    access_department_by_id,
    access_person_by_id,
    agency_tree,
    appointments_of,
    department_ancestors,
    members_of,
    primary_appointment,
    role_assignments_of,
    search_people,
)


@login_required
def directory(request: HttpRequest) -> HttpResponse:
    form = DirectorySearchForm(request.GET or None)
    query = form.cleaned_data["q"].strip() if form.is_valid() else ""
    own = primary_appointment(request.user)
    context = {
        "form": form,
        "query": query,
        "own_agency_id": own.department.agency_id if own else None,
        "results": list(search_people(query)) if query else None,
        "tree": agency_tree(),
    }
    return render(request, "directory/index.html", context)


@login_required
def department_detail(request: HttpRequest, department_id: int) -> HttpResponse:
    department = access_department_by_id(request.user, department_id)
    context = {
        "department": department,
        "ancestors": list(reversed(department_ancestors(department))),
        "members": members_of(department),
    }
    return render(request, "directory/department.html", context)


@login_required
def person_detail(request: HttpRequest, person_id: int) -> HttpResponse:
    person = access_person_by_id(request.user, person_id)
    context = {
        "person": person,
        "appointments": appointments_of(person),
        "roles": role_assignments_of(person),
    }
    return render(request, "directory/person.html", context)
