"""Writes of 考核评价: the 督查室 sets the weights (docs/assessment.md). Nothing else here writes: scores are read."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.db import transaction

from oa.actions.audit import do_record_audit
from oa.models import Person
from oa.refusals import Refusal
from oa.scores import registered_sources
from supervision.assessment.models import AssessmentWeight
from supervision.assessment.scoring import weight_agency_id


def check_save_weights(user: Person, weights: dict[str, object], *, ip: str | None = None) -> dict[str, int]:
    """Every registered source gets an integer weight 0–100 and together they make 100; else nothing changes."""
    agency_id = weight_agency_id(user)
    if agency_id is None:
        raise PermissionDenied("只有督查室的督查员可以设置考核权重。")
    sources = registered_sources()
    clean: dict[str, int] = {}
    for source in sources:
        raw = weights.get(source.key)
        try:
            value = int(str(raw).strip())
        except (TypeError, ValueError):
            raise Refusal("weight_invalid", f"“{source.label}”的权重须为 0～100 的整数。") from None
        if not 0 <= value <= 100:
            raise Refusal("weight_invalid", f"“{source.label}”的权重须为 0～100 的整数。")
        clean[source.key] = value
    unknown = set(weights) - set(clean)
    if unknown:
        raise Refusal("weight_unknown_source", "含有未登记的考核指标：" + "、".join(sorted(map(str, unknown))))
    total = sum(clean.values())
    if total != 100:
        raise Refusal("weights_sum", f"各项权重之和须为 100，现在是 {total}。")
    with transaction.atomic():
        before = dict(AssessmentWeight.objects.select_for_update().filter(agency_id=agency_id)
                      .values_list("source_key", "weight"))
        AssessmentWeight.objects.filter(agency_id=agency_id).exclude(source_key__in=list(clean)).delete()
        for key, value in clean.items():
            AssessmentWeight.objects.update_or_create(agency_id=agency_id, source_key=key,
                                                      defaults={"weight": value, "updated_by": user})
        do_record_audit(actor=user, action="supervision.assessment_weights", object_type="supervision.assessmentweight",
                        object_id=agency_id, object_repr="考核权重", changes={"before": before, "after": clean}, ip=ip)
    return clean
