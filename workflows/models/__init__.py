# Each module declares __all__; its owner adds models there without touching this file.
from workflows.models.circulation import *  # noqa: F403
from workflows.models.issuance import *  # noqa: F403
from workflows.models.opinions import *  # noqa: F403
from workflows.models.routing import *  # noqa: F403
