"""Node A, for bench/exchange.py: N distinct 公文 to the peer's agencies through the real exchange path.

One document goes through the whole 发文 chain (stamped, distributed); N copies of it (each its own 公文标识,
hence its own package id) are put in the outbox with do_enqueue_package, exactly as 分发 does. The node runs
with OA_OUTBOX_KICK=0 and no scheduler, so nothing leaves until this script delivers: then `workers` threads
drain the outbox with do_deliver_due_outbox (the scheduler's own function), one message per claim, recording
when each send started. B's 收文 row is committed before B answers, so "send → B's row" is measured against
B's own timestamps by the bench afterwards.

Params: count, workers, peer, recipients. Prints {"sends": {package_id: [start, answered] epoch}, "wall": seconds, ...}.
"""

import json
import os
import threading
import time
import uuid

from django.db import connection, transaction

from documents.models import OfficialDocument
from integrations.exchange import channel
from integrations.exchange.actions import do_enqueue_package
from integrations.exchange.selectors import OUTBOX_CHANNEL
from oa.actions import outbox as outbox_module
from oa.actions.outbox import do_deliver_due_outbox
from oa.models import Agency, OutboxMessage
from tests.issued import issue_to
from workflows.models import DistributionRecipient

params = json.loads(os.environ["OA_LIVE_PARAMS"])
count, workers = int(params["count"]), int(params["workers"])
targets = [Agency.objects.get(uscc=u) for u in params["recipients"]]
template, process = issue_to(targets, title="关于开展公文交换性能测试的函")
# The template's own package went out at 分发 (kick is off: it waits in the outbox like the rest).
clerk = template.created_by
prepared = time.perf_counter()
with transaction.atomic():
    for i in range(count):
        copy = OfficialDocument.objects.get(pk=template.pk)
        copy.pk = None
        copy.identifier = uuid.uuid4()
        copy.title = f"关于开展公文交换性能测试的函（{i + 1}）"
        copy.save()
        rows = [DistributionRecipient.objects.create(document=copy, process=process, agency=a, kind="main",
                                                     sent_by=clerk) for a in targets]
        do_enqueue_package(copy, rows, actor=clerk)
prepared = time.perf_counter() - prepared

sends: dict[str, float] = {}
durations: list[float] = []
lock = threading.Lock()
original = channel.client.post


def timed_post(peer, endpoint, body, **kw):
    start = time.time()
    response = original(peer, endpoint, body, **kw)
    with lock:
        durations.append(time.time() - start)
    return response


channel.client.post = timed_post
real_send = channel.send_outbox_message


def recording_send(message: OutboxMessage):
    start = time.time()
    try:
        return real_send(message)
    finally:
        # B commits the 收文 before it answers: the end of the send is when B's row exists.
        with lock:
            sends[message.payload.get("package_id", "")] = [start, time.time()]


# The registered sender is looked up per message; route it through the recorder.
outbox_module._senders[OUTBOX_CHANNEL] = outbox_module._Sender(recording_send, None)
failures: list[str] = []


def worker():
    try:
        while True:
            counts = do_deliver_due_outbox(limit=1, channels=[OUTBOX_CHANNEL])
            if not counts:
                break
            if counts.get("retried") or counts.get("dead"):
                failures.append(json.dumps(counts))
    finally:
        connection.close()


started = time.perf_counter()
threads = [threading.Thread(target=worker) for _ in range(workers)]
for t in threads:
    t.start()
for t in threads:
    t.join()
wall = time.perf_counter() - started
sent = OutboxMessage.objects.filter(channel=OUTBOX_CHANNEL, state=OutboxMessage.State.SENT).count()
size = OutboxMessage.objects.filter(channel=OUTBOX_CHANNEL, kind="package").first().payload.get("size")
print(json.dumps({"sends": sends, "wall": wall, "prepare": prepared, "sent": sent, "failures": failures,
                  "post_durations": durations, "size": size}))
