"""Prepare and serve one test identity provider in this process: `python -m tests.sso.idp.run oidc|cas`.

Reads IDP_DIR, IDP_PORT and a JSON set-up document from IDP_SETUP (users, the client / service to register),
migrates a fresh SQLite database, creates what the set-up names, prints READY and serves on 127.0.0.1:IDP_PORT
with Django's threaded development server until terminated. The OA tests start it with tests/sso/idp/server.py.
"""

from __future__ import annotations

import json
import os
import sys


def _setup_oidc(setup: dict) -> None:
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from oidc_provider.models import Client, ResponseType

    call_command("creatersakey", verbosity=0)
    user_model = get_user_model()
    for user in setup["users"]:
        user_model.objects.create_user(user["username"], email=user.get("email", ""), password=user["password"])
    client = Client.objects.create(
        name="揭东区协同办公", client_type="confidential", client_id=setup["client_id"],
        client_secret=setup["client_secret"], jwt_alg="RS256", require_consent=False, reuse_consent=True,
        _redirect_uris="\n".join(setup["redirect_uris"]),
        _post_logout_redirect_uris="\n".join(setup.get("post_logout_redirect_uris", [])),
        _scope="openid email profile",
    )
    client.response_types.add(ResponseType.objects.get(value="code"))


def _setup_cas(setup: dict) -> None:
    from cas_server.models import ReplaceAttributName, ServicePattern
    from django.contrib.auth import get_user_model

    user_model = get_user_model()
    for user in setup["users"]:
        user_model.objects.create_user(
            user["username"], email=user.get("email", ""), password=user["password"],
            first_name=user.get("first_name", ""),
        )
    pattern = ServicePattern.objects.create(
        pos=100, name="揭东区协同办公", pattern=setup["service_pattern"], single_log_out=True,
    )
    for name in setup.get("attributes", []):
        ReplaceAttributName.objects.create(name=name, replace="", service_pattern=pattern)


def main() -> None:
    kind = sys.argv[1]
    os.environ["DJANGO_SETTINGS_MODULE"] = {"oidc": "tests.sso.idp.oidc_idp", "cas": "tests.sso.idp.cas_idp"}[kind]
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)
    setup = json.loads(os.environ["IDP_SETUP"])
    {"oidc": _setup_oidc, "cas": _setup_cas}[kind](setup)
    print("READY", flush=True)
    call_command("runserver", f"127.0.0.1:{os.environ['IDP_PORT']}", use_reloader=False, use_threading=True,
                 skip_checks=True)


if __name__ == "__main__":
    main()
