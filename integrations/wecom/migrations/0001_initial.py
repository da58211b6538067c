import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CallbackMessage",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("dedupe_key", models.CharField(max_length=128, unique=True, verbose_name="去重键")),
                ("agent_id", models.CharField(blank=True, max_length=32, verbose_name="应用ID")),
                ("from_user", models.CharField(max_length=64, verbose_name="平台账号")),
                ("msg_type", models.CharField(max_length=32, verbose_name="消息类型")),
                ("event", models.CharField(blank=True, max_length=64, verbose_name="事件")),
                ("event_key", models.CharField(blank=True, max_length=128, verbose_name="事件参数")),
                ("content", models.CharField(blank=True, max_length=2048, verbose_name="文本内容")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="接收时间")),
                (
                    "person",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                        verbose_name="人员",
                    ),
                ),
            ],
            options={
                "verbose_name": "平台回调消息",
                "verbose_name_plural": "平台回调消息",
                "ordering": ["-id"],
            },
        ),
    ]
