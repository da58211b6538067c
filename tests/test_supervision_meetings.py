"""会议议定事项 → 督办 in one action (docs/supervision.md 从会议立项): the button on the meeting's 议定事项 list, the
item linked to its decision, idempotent (a decision taken over shows the item link), refusals in Chinese."""

from __future__ import annotations

import datetime as dt

from meetings.minutes import DecisionInput, check_record_decision
from oa.models import Agency
from supervision.models import SourceType, SupervisionItem
from tests.clients import login
from tests.test_meetings_minutes import at, held, office  # noqa: F401  (fixtures)


def test_a_decision_becomes_an_item_once(cast, held, time_machine):  # noqa: F811
    finance = Agency.objects.get(short_name="区财政局")
    decision = check_record_decision(cast.zhangwei, held, DecisionInput(
        text="区财政局牵头，3 月底前完成冬季安全生产专项资金拨付。", owner_unit=finance, deadline=dt.date(2026, 3, 31)))
    time_machine.move_to(at(2026, 3, 4, 9), tick=False)
    meeting_url = f"/meetings/{held.pk}/"
    action = f"/supervision/from-decision/{held.pk}/{decision.pk}/"

    # 吴静 (督查室, 列席) sees the button on the 议定事项 row; 李娜 (a participant) does not and may not press it.
    supervisor = login(cast.wujing)
    assert action in supervisor.get(meeting_url).content.decode()
    participant = login(cast.lina, otp=True)
    assert action not in participant.get(meeting_url).content.decode()
    assert participant.post(action).status_code == 403
    assert not SupervisionItem.objects.exists()

    response = supervisor.post(action)
    item = SupervisionItem.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/supervision/{item.pk}/"
    assert item.source_type == SourceType.MEETING and item.source_decision_id == decision.pk
    assert item.lead_agency == finance and item.deadline == dt.date(2026, 3, 31)
    assert item.requirements == decision.text and item.source_basis == f"{held.title} 第1项"
    assert item.leader == cast.huangjianhua and item.supervisor == cast.wujing
    assert item.status == SupervisionItem.Status.REVIEW and item.cycle == "weekly"
    assert item.units.get().role == "lead"

    # Pressed again (or by the organiser): the same item, nothing new; the row now links to it.
    again = supervisor.post(action)
    assert again["Location"] == f"/supervision/{item.pk}/" and SupervisionItem.objects.count() == 1
    page = supervisor.get(meeting_url).content.decode()
    assert f'href="/supervision/{item.pk}/"' in page and action not in page
    organiser = login(cast.zhangwei)
    assert organiser.post(action).status_code == 302 and SupervisionItem.objects.count() == 1
    assert "已转督办" in organiser.get(meeting_url).content.decode()
    detail = supervisor.get(f"/supervision/{item.pk}/").content.decode()
    assert f"/meetings/{held.pk}/#decisions" in detail


def test_the_organiser_takes_over_for_the_office_and_a_decision_without_deadline_is_refused(
        cast, held, office, time_machine):  # noqa: F811
    undated = check_record_decision(cast.zhangwei, held, DecisionInput(text="研究建立长效机制", owner_unit=office))
    dated = check_record_decision(cast.zhangwei, held, DecisionInput(
        text="各科室 3 月 20 日前报送安全隐患清单", owner_unit=office, deadline=dt.date(2026, 3, 20)))
    time_machine.move_to(at(2026, 3, 4, 9), tick=False)
    organiser = login(cast.zhangwei)
    refused = organiser.post(f"/supervision/from-decision/{held.pk}/{undated.pk}/", follow=True)
    assert "没有完成时限" in refused.content.decode() and not SupervisionItem.objects.exists()

    response = organiser.post(f"/supervision/from-decision/{held.pk}/{dated.pk}/")
    item = SupervisionItem.objects.get()
    # The organiser is no 督查员: the item is registered for 区府办's 督查室; 区府办 is the owner unit, so the
    # organiser (of 区府办) may see it and lands on it.
    assert response["Location"] == f"/supervision/{item.pk}/"
    assert item.supervisor.username in {"zhaolei", "wujing"} and item.source_decision_id == dated.pk
    assert item.number == "督〔2026〕1号"
