"""Node B: the office's 文书 signs (签收) every 收文 still waiting, through the 签收 step action the step page calls.

Params: username (default the 文书 xi_clerk). Prints {"signed": [incoming ids]}.
"""

import json
import os

from viewflow.workflow.models import Task
from viewflow.workflow.status import STATUS

from documents.models import IncomingDocument
from oa.models import Person
from workflows.actions.receipt import StepInput, check_perform_receipt_step, receipt_process

params = json.loads(os.environ["OA_LIVE_PARAMS"])
clerk = Person.objects.get(username=params.get("username", "xi_clerk"))
signed = []
for incoming in IncomingDocument.objects.filter(status=IncomingDocument.Status.PENDING).order_by("id"):
    process = receipt_process(incoming)
    task = next(t for t in Task.objects.filter(process=process, owner=clerk, status__in=[STATUS.ASSIGNED, STATUS.STARTED])
                if t.flow_task.name == "sign")
    check_perform_receipt_step(clerk, task, StepInput(decision="sign", copies=1))
    signed.append(incoming.pk)
print(json.dumps({"signed": signed}))
