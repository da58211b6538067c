"""公文 REST routes, mounted under /api/documents/ (see docs/api.md)."""

from documents.views import archive as archive_views
from documents.views import attachments as attachment_views
from documents.views import body as body_views
from documents.views import documents_api
from documents.views import numbering as numbering_views
from documents.views import seals as seal_views
from documents.views import search as search_views

urlpatterns: list = []
urlpatterns += documents_api.api_urlpatterns  # 公文要素 (docs/documents.md)
urlpatterns += numbering_views.api_urlpatterns  # 文号台账 (docs/numbering.md)
urlpatterns += attachment_views.api_urlpatterns  # 附件 (docs/storage.md)
urlpatterns += body_views.api_urlpatterns  # 正文、版本、痕迹、清稿、导入 (docs/editor.md)
urlpatterns += search_views.api_urlpatterns  # 公文检索 (docs/search.md)
urlpatterns += archive_views.api_urlpatterns  # 归档 (docs/archive.md)
urlpatterns += seal_views.api_urlpatterns  # 验章 (docs/seals.md)
