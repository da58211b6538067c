from django.apps import AppConfig


class MeetingsConfig(AppConfig):
    name = "meetings"
    verbose_name = "会议"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from meetings import actions
        from oa.realtime.routes import register_websocket_route
        from oa.tiles import Tile, register_tile

        actions.connect()
        register_websocket_route("ws/meetings/<int:meeting_id>/", "meetings.consumers.MeetingConsumer")
        register_tile(Tile("meetings", "我的会议", "meetings:mine", "calendar", order=50,
                           description="日程、会议邀请与回复"))
        register_tile(Tile("meeting_rooms", "会议室", "meetings:rooms", "calendar", order=52,
                           description="会议室空闲情况与预约"))
