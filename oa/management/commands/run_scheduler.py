"""manage.py run_scheduler [--once] [--interval N]: the embedded periodic-job loop (docs/jobs.md).

`make run` starts it beside the ASGI server. In production Celery beat plays this part instead; never run
both, or every job runs twice.
"""

from __future__ import annotations

import logging
import signal
import threading
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from oa.scheduling import Scheduler, registered_jobs

logger = logging.getLogger("oa.scheduler")


class Command(BaseCommand):
    help = "在本进程内循环运行已登记的定时任务（嵌入模式）；--once 只运行一轮"

    def add_arguments(self, parser) -> None:
        parser.add_argument("--once", action="store_true", help="运行一轮（所有已登记任务各一次）后退出")
        parser.add_argument("--interval", type=float, default=5.0, help="两轮检查之间的秒数（默认 5）")

    def handle(self, *args, **options) -> None:
        interval: float = options["interval"]
        if interval <= 0:
            raise CommandError("--interval 必须大于 0")
        jobs = registered_jobs()
        if not jobs:
            raise CommandError("没有登记任何定时任务")
        if options["verbosity"] >= 2:
            for job in jobs.values():
                self.stdout.write(f"已登记：{job.name}（每 {job.every_seconds} 秒）{job.description}")
        scheduler = Scheduler()
        if options["once"]:
            self._tick(scheduler, options["verbosity"])
            return

        stop = threading.Event()

        def request_stop(signum: int, frame: object) -> None:
            logger.info("收到信号 %s，当前任务完成后退出", signal.Signals(signum).name)
            stop.set()

        previous = {sig: signal.signal(sig, request_stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        logger.info("调度器启动：%d 个任务，每 %.1f 秒检查一次", len(jobs), interval)
        if options["verbosity"] >= 1:
            self.stdout.write(f"调度器已启动：{len(jobs)} 个任务，每 {interval:g} 秒检查；Ctrl+C 停止。")
        try:
            while not stop.is_set():
                self._tick(scheduler, options["verbosity"])
                stop.wait(interval)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            logger.info("调度器已停止")
            if options["verbosity"] >= 1:
                self.stdout.write("调度器已停止。")

    def _tick(self, scheduler: Scheduler, verbosity: int) -> list[str]:
        _close_old_connections()
        due = [job.name for job in scheduler.due()]
        if not due:
            return []
        started = time.monotonic()
        ran = scheduler.tick()  # logs each job's result or traceback; a failing job does not stop the others
        _close_old_connections()
        failed = [name for name in due if name not in ran]
        for name in ran:
            logger.debug("任务 %s 完成", name)
            if verbosity >= 1:
                self.stdout.write(f"任务完成：{name}")
        for name in failed:
            logger.error("任务 %s 失败", name)
            self.stderr.write(f"任务失败：{name}（详见日志）")
        logger.debug("本轮 %d 个任务，用时 %.2f 秒", len(due), time.monotonic() - started)
        return ran


def _close_old_connections() -> None:
    """A long-running process: drop connections the database closed or that outlived CONN_MAX_AGE.

    Like django.db.close_old_connections, but never inside a transaction (e.g. a test's), which it would close.
    """
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            conn.close_if_unusable_or_obsolete()
