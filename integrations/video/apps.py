from django.apps import AppConfig


class VideoConfig(AppConfig):
    # Installed for its static files (vendored janus.js, the join script) and the join-page template snippet.
    name = "integrations.video"
    label = "video"
    verbose_name = "视频会议"
