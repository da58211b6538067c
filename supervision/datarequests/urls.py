from django.urls import path

from supervision.datarequests import views

app_name = "datarequests"

urlpatterns = [
    path("", views.mine, name="mine"),
    path("new/", views.create, name="create"),
    path("listing/", views.listing, name="listing"),
    path("catalog/", views.catalog, name="catalog"),
    path("catalog/<int:catalog_id>/", views.catalog_entry, name="catalog_entry"),
    path("<int:request_id>/", views.detail, name="detail"),
    path("<int:request_id>/edit/", views.edit, name="edit"),
    path("<int:request_id>/fields/", views.fields, name="fields"),
    path("<int:request_id>/progress/", views.progress, name="progress"),
    path("<int:request_id>/rounds/<int:round_id>/", views.aggregate, name="aggregate"),
    path("submissions/<int:submission_id>/", views.submission, name="submission"),
    path("submissions/<int:submission_id>/template.xlsx", views.template, name="template"),
]
