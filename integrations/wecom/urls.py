"""Platform callback and OAuth2 login routes (/integrations/wecom/). See docs/wecom.md."""

urlpatterns: list = []
