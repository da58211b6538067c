"""Exchange routes, mounted at /exchange/ (the protocol's root: integrations.exchange.client.EXCHANGE_ROOT)."""

from django.urls import path

from . import views

app_name = "exchange"

urlpatterns = [
    path("v1/packages", views.receive_package, name="packages"),
    path("v1/receipts", views.receive_receipt, name="receipts"),
    path("v1/withdrawals", views.receive_withdrawal, name="withdrawals"),
    path("incidents/", views.incidents, name="incidents"),
    path("incidents/<int:message_id>/retry", views.retry_incident, name="retry"),
]
