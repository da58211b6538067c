from django.urls import path, re_path

from supervision import files, from_meeting, views
from supervision.assessment import views as assessment_views

app_name = "supervision"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("items/", views.office_list, name="list"),
    path("new/", views.create, name="create"),
    path("from-incoming/<int:incoming_id>/", views.from_incoming, name="from_incoming"),
    path("policies/", views.policies, name="policies"),
    path("<int:item_id>/", views.detail, name="detail"),
    path("<int:item_id>/notice.pdf", views.notice, name="notice"),
    path("units/<int:unit_id>/", views.unit_page, name="unit"),
    path("steps/<int:task_id>/", views.step, name="step"),
    path("extensions/<int:extension_id>/", views.extension_page, name="extension"),
    path("from-decision/<int:meeting_id>/<int:decision_id>/", from_meeting.from_decision, name="from_decision"),
    # 进度反馈 / 办结报告 attachments (supervision/files.py)
    path("feedback/<int:feedback_id>/files/<int:index>/", files.feedback_file, name="feedback_file"),
    path("units/<int:unit_id>/report-files/<int:index>/", files.report_file, name="report_file"),
    # 考核评价 一站通 (supervision/assessment/, docs/assessment.md)
    path("assessment/", assessment_views.overview, name="assessment"),
    path("assessment/units/<int:agency_id>/", assessment_views.unit, name="assessment_unit"),
    path("assessment/records/<slug:key>/", assessment_views.records, name="assessment_records"),
    path("assessment/export.xlsx", assessment_views.export, name="assessment_export"),
    path("assessment/weights/", assessment_views.weights, name="assessment_weights"),
]

# 督办看板, drill-down, 一张表 and 月度通报 (supervision.dashboard_views; docs/supervision.md 看板)
from supervision import dashboard_views  # noqa: E402

urlpatterns += [
    path("dashboard/", dashboard_views.dashboard, name="dashboard"),
    path("dashboard/items/", dashboard_views.items, name="dashboard_items"),
    path("bulletins/", dashboard_views.bulletins, name="bulletins"),
    path("bulletins/<int:bulletin_id>/", dashboard_views.bulletin, name="bulletin"),
    re_path(r"^bulletins/(?P<bulletin_id>[0-9]+)/draft\.(?P<ext>docx|pdf)$", dashboard_views.bulletin_file,
            name="bulletin_file"),
]
