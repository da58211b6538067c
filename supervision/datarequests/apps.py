from django.apps import AppConfig


class DataRequestsConfig(AppConfig):
    """报表“一张表” (docs/datarequests.md): one request per number, sent to every unit once, prefilled."""

    name = "supervision.datarequests"
    label = "datarequests"
    verbose_name = "报表一张表"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from oa.tiles import Tile, register_tile
        from oa.work import WorkKind, register_work_kind
        from supervision.datarequests import actions

        # 填报 is done on the submission page (draft, Excel import, submit): the inbox opens it, offers no button.
        register_work_kind(WorkKind(key=actions.KIND, label="报表填报", icon="task",
                                    actions=lambda item, user: [], perform=_no_inline_perform))
        register_tile(Tile("datarequests", "报表填报", "datarequests:mine", "todo", order=47,
                           description="一张表：本单位待填报的报表、报表清单、我发起的报表与汇总"))


def _no_inline_perform(user, item, action_key, data) -> None:
    raise ValueError(f"data request work {item.ref} is done on its own page")
