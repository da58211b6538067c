from django.apps import AppConfig


class FrontendConfig(AppConfig):
    name = "frontend"
    verbose_name = "界面"

    def ready(self) -> None:
        from frontend.tiles import register_platform_tiles

        register_platform_tiles()
