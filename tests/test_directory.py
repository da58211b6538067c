"""Directory: 统一社会信用代码, agencies, departments, posts, 兼职, roles and the selectors later flows use."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from oa.actions.directory import check_assign_role, check_upsert_agency, do_appoint, do_upsert_department
from oa.models import Agency, AuditEntry, Department, Person, Post, Role
from oa.refusals import Refusal
from oa.selectors import directory as sel
from oa.uscc import ALPHABET, check_character, make_uscc, validate_uscc

pytestmark = pytest.mark.django_db


class TestUscc:
    def test_known_real_code_passes(self):
        validate_uscc("91350100M000100Y43")

    def test_wrong_check_character_is_named(self):
        with pytest.raises(ValidationError) as exc:
            validate_uscc("91350100M000100Y44")
        assert exc.value.code == "uscc_check"
        assert "第18位校验码“4”错误" in exc.value.messages[0]
        assert "应为“3”" in exc.value.messages[0]

    def test_forbidden_letter_names_position_and_character(self):
        with pytest.raises(ValidationError) as exc:
            validate_uscc("91350100MO00100Y43")
        assert exc.value.code == "uscc_char"
        assert "第10位的字符“O”不合法" in exc.value.messages[0]

    def test_length(self):
        with pytest.raises(ValidationError) as exc:
            validate_uscc("9135010")
        assert "应为18位，当前为7位" in exc.value.messages[0]

    def test_category_and_region(self):
        with pytest.raises(ValidationError) as exc:
            validate_uscc(make_uscc("W1445203007190001"))
        assert exc.value.code == "uscc_category"
        assert "前两位“W1”" in exc.value.messages[0]
        with pytest.raises(ValidationError) as exc:
            validate_uscc(make_uscc("114452A3007190001"))
        assert exc.value.code == "uscc_region"

    @given(st.text(alphabet=ALPHABET, min_size=9, max_size=9), st.sampled_from(["11", "12", "51", "91", "92"]))
    def test_generated_codes_validate_and_any_single_change_of_the_check_fails(self, body, prefix):
        first17 = prefix + "445203" + body
        code = make_uscc(first17)
        validate_uscc(code)
        for other in ALPHABET:
            if other != code[17]:
                with pytest.raises(ValidationError):
                    validate_uscc(first17 + other)

    def test_check_character_of_all_zero_body(self):
        assert check_character("11445203000000000") in ALPHABET


class TestAgencyWrites:
    def test_invalid_uscc_is_rejected_and_nothing_written(self, cast):
        before = Agency.objects.count()
        with pytest.raises(Refusal) as exc:
            check_upsert_agency(
                actor=cast.sunhao, name="揭阳市揭东区测试局", short_name="测试局", doc_code="揭东测",
                uscc="11445203007190I012",
            )
        assert (exc.value.code, exc.value.status) == ("uscc_char", 400)  # the validator's code, as a refusal
        assert "第15位的字符“I”不合法" in exc.value.message
        assert Agency.objects.count() == before

    def test_empty_doc_code_is_refused(self, cast):
        before = Agency.objects.count()
        with pytest.raises(Refusal) as exc:
            check_upsert_agency(actor=cast.sunhao, name="揭阳市揭东区测试局", short_name="测试局", doc_code="  ",
                                uscc=make_uscc("11445203007190998"))
        assert (exc.value.code, exc.value.message) == ("doc_code_required", "机关代字不能为空。")
        assert Agency.objects.count() == before

    def test_model_validation_uses_the_same_rule(self):
        agency = Agency(name="x", short_name="x", doc_code="x", uscc="91350100M000100Y44")
        with pytest.raises(ValidationError) as exc:
            agency.full_clean()
        assert "uscc" in exc.value.message_dict

    def test_create_is_audited(self, cast):
        agency = check_upsert_agency(
            actor=cast.sunhao, name="揭阳市揭东区统计局", short_name="区统计局", doc_code="揭东统",
            uscc=make_uscc("11445203007190999"),
        )
        entry = AuditEntry.objects.filter(action="directory.agency.create", object_id=str(agency.pk)).get()
        assert entry.actor == cast.sunhao

    def test_role_scope_must_be_inside_agency(self, cast):
        finance = Agency.objects.get(doc_code="揭东财")
        office_dept = Department.objects.get(agency__doc_code="揭东府办", name="秘书科")
        with pytest.raises(Refusal) as exc:
            check_assign_role(actor=None, person=cast.zhangwei, role=Role.REVIEWER, agency=finance, department=office_dept)
        assert exc.value.code == "role_scope_mismatch"
        assert exc.value.message == f"部门“{office_dept.name}”不属于机关“{finance}”。"

    def test_unknown_role_is_refused(self, cast):
        finance = Agency.objects.get(doc_code="揭东财")
        with pytest.raises(Refusal) as exc:
            check_assign_role(actor=None, person=cast.zhangwei, role="emperor", agency=finance)
        assert (exc.value.code, exc.value.message) == ("role_unknown", "未知角色“emperor”。")


class TestDemoDirectory:
    def test_demo_has_the_agencies_and_doc_codes(self):
        codes = set(Agency.objects.values_list("doc_code", flat=True))
        assert {"揭东府", "揭东府办", "揭东政数", "揭东财", "揭东教", "揭东市监", "揭东应急", "揭东审"} <= codes
        assert Agency.objects.filter(kind=Agency.Kind.TOWN).count() == 3
        for agency in Agency.objects.all():
            validate_uscc(agency.uscc)

    def test_about_sixty_people(self):
        assert 55 <= Person.objects.filter(is_active=True).count() <= 70

    def test_concurrent_post(self, cast):
        hemei = cast.hemei
        primary = sel.primary_appointment(hemei)
        assert primary.department.agency.doc_code == "揭东政数"
        concurrent = hemei.appointments.filter(is_primary=False).select_related("department__agency").get()
        assert concurrent.department.agency.doc_code == "揭东府办"
        assert {a.doc_code for a in sel.agencies_of(hemei)} == {"揭东政数", "揭东府办"}

    def test_new_primary_demotes_old_one(self, cast):
        person = cast.gaojun
        old = sel.primary_appointment(person)
        dept = Department.objects.get(agency__doc_code="揭东府办", name="督查室")
        do_appoint(person=person, department=dept, post=Post.objects.get(name="督查员"), primary=True)
        assert sel.primary_appointment(person).department == dept
        old.refresh_from_db()
        assert old.is_primary is False


class TestSelectors:
    def office(self):
        return Agency.objects.get(doc_code="揭东府办")

    def dept(self, name, code="揭东府办"):
        return Department.objects.get(agency__doc_code=code, name=name)

    def test_head_of_department(self, cast):
        assert sel.head_of_department(self.dept("秘书科")) == cast.lina
        assert sel.head_of_department(self.dept("督查室")) == cast.wujing

    def test_head_is_not_inherited_by_subdepartment(self, cast):
        sub = do_upsert_department(agency=self.office(), name="文电组", parent=self.dept("秘书科"))
        assert sel.head_of_department(sub) is None

    def test_responsible_leader_of_department_and_of_a_subdepartment(self, cast):
        assert sel.responsible_leaders(self.dept("秘书科")) == [cast.wangfang]
        sub = do_upsert_department(agency=self.office(), name="文电组", parent=self.dept("秘书科"))
        assert sel.responsible_leaders(sub) == [cast.wangfang]
        assert sel.responsible_leaders(self.dept("机要室")) == []

    def test_signers_for_upward_document_are_only_principals(self, cast):
        signers = sel.signers_for(self.office(), upward=True, department=self.dept("秘书科"))
        assert signers == [cast.huangjianhua]
        assert not sel.may_sign_off(cast.wangfang, self.office(), upward=True, department=self.dept("秘书科"))

    def test_signers_for_important_document_are_only_principals(self, cast):
        assert sel.signers_for(self.office(), upward=False, important=True) == [cast.huangjianhua]

    def test_signers_for_ordinary_document_follow_the_agency_rule(self, cast):
        office, dept = self.office(), self.dept("秘书科")
        assert sel.signers_for(office, upward=False, department=dept) == [cast.huangjianhua, cast.wangfang]
        # 机要室 has no 分管领导: only the principal.
        assert sel.signers_for(office, upward=False, department=self.dept("机要室")) == [cast.huangjianhua]
        office.ordinary_signoff = Agency.OrdinarySignoff.PRINCIPAL_ONLY
        office.save()
        assert sel.signers_for(office, upward=False, department=dept) == [cast.huangjianhua]
        office.ordinary_signoff = Agency.OrdinarySignoff.PRINCIPAL_OR_ANY_DEPUTY
        office.save()
        assert sel.signers_for(office, upward=False, department=self.dept("机要室")) == [
            cast.huangjianhua,
            cast.wangfang,
        ]

    def test_a_clerk_may_not_sign(self, cast):
        assert not sel.may_sign_off(cast.zhangwei, self.office(), upward=False, department=self.dept("秘书科"))

    def test_people_with_role_in_scope(self, cast):
        office = self.office()
        assert set(sel.people_with_role(Role.SUPERVISOR, agency=office)) == {cast.wujing, cast.zhaolei}
        # An agency-wide 核稿人 reviews for every department of the agency.
        assert list(sel.people_with_role(Role.REVIEWER, department=self.dept("综合科"))) == [cast.lina]
        assert list(sel.people_with_role(Role.REVIEWER, department=self.dept("综合科"), inherit=False)) == []
        finance = Agency.objects.get(doc_code="揭东财")
        assert sel.people_with_role(Role.SEAL_KEEPER, agency=finance).count() == 1

    def test_inactive_people_hold_no_roles(self, cast):
        lina = cast.lina
        lina.is_active = False
        lina.save()
        assert sel.head_of_department(self.dept("秘书科")) is None

    def test_two_factor_roles(self, cast):
        assert sel.requires_two_factor(cast.wangfang)
        assert sel.requires_two_factor(cast.zhoumin)
        assert sel.requires_two_factor(cast.chenzhiqiang)
        assert sel.requires_two_factor(cast.sunhao)
        assert not sel.requires_two_factor(cast.zhangwei)
        assert not sel.requires_two_factor(cast.lina)

    def test_search_by_chinese_name(self, cast):
        assert list(sel.search_people("李娜")) == [cast.lina]
        assert cast.zhangwei in sel.search_people("张")

    def test_agency_tree_has_every_agency_and_nested_departments(self):
        tree = sel.agency_tree()
        assert len(tree) == Agency.objects.count()
        office = next(node for node in tree if node["agency"].doc_code == "揭东府办")
        assert [d["department"].name for d in office["departments"]] == ["秘书科", "综合科", "督查室", "机要室"]
