"""零跑动 on the mobile platform (docs/services.md, docs/wecom.md): a service step reaches the 受理 desk's phone as
a textcard through the outbox, and the applicant's 办结 notice reaches theirs."""

from __future__ import annotations

import pytest

from oa.actions.outbox import do_deliver_due_outbox
from tests.clients import login
from tests.services_helpers import item, load_services, open_task, todo_of
from workflows.services.models import ServiceApplication

pytestmark = pytest.mark.django_db


def _on_platform(wecom, person, userid: str) -> None:
    person.platform_userid = userid
    person.save(update_fields=["platform_userid"])
    wecom.add_member(userid, person.name, mobile=person.mobile)


def test_service_desk_and_applicant_are_reached_on_the_mobile_platform(cast, wecom):
    load_services()
    _on_platform(wecom, cast.xuli, "xuli01")
    _on_platform(wecom, cast.zhangwei, "zhangwei01")
    login(cast.zhangwei).post(f"/services/items/{item('employment_cert').pk}/apply", {"purpose": "办理签证"})
    application = ServiceApplication.objects.get()
    do_deliver_due_outbox()
    (card,) = [m for m in wecom.state.messages if m["touser"] == "xuli01"]
    todo = todo_of(cast.xuli, application)
    assert card["msgtype"] == "textcard" and "在职证明开具" in card["textcard"]["title"]
    assert card["textcard"]["url"].endswith(f"/integrations/wecom/login/?next=/work/{todo.pk}/")
    assert "办理签证" not in str(card)  # metadata only, never what the applicant wrote

    login(cast.xuli).post(f"/services/tasks/{open_task(application).pk}/", {"form": "decide", "decision": "accept"})
    do_deliver_due_outbox()
    titles = [m["textcard"]["title"] for m in wecom.state.messages if m["touser"] == "zhangwei01"]
    assert titles == ["待阅：在职证明开具已办结，请评价"]
