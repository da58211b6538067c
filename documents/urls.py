"""公文 pages (/documents/). Each concern keeps its routes beside its views."""

from documents.views import archive, attachments, body, numbering, numbering_series, seals, search
from documents.views import documents as document_views

app_name = "documents"

urlpatterns = [
    *document_views.urlpatterns,
    *body.urlpatterns,
    *numbering.urlpatterns,
    *numbering_series.urlpatterns,
    *attachments.urlpatterns,
    *seals.urlpatterns,
    *search.urlpatterns,
    *archive.urlpatterns,
]
