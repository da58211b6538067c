from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"
    verbose_name = "公文"

    def ready(self) -> None:
        from oa.models import Role
        from oa.tiles import Tile, register_tile

        # 工作台 shortcut by role (docs/workbench.md): 拟稿人 start a 发文 from the home page.
        register_tile(Tile("draft", "拟稿", "documents:create", "draft", order=40, roles=frozenset({Role.DRAFTER}),
                           description="起草新的公文"))
