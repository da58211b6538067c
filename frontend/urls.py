"""Workbench pages (inbox, item detail), PWA manifest, service worker and offline shell."""

from django.urls import path

from frontend import views

urlpatterns = [
    path("work/", views.inbox_view, name="inbox"),
    path("work/<int:item_id>/", views.work_item_view, name="work_item"),
    path("work/<int:item_id>/actions/<slug:key>/", views.work_item_action_view, name="work_item_action"),
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("offline/", views.offline, name="offline"),
]
