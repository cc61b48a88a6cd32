"""Schemathesis hooks for tests/schemathesis.sh: every test case is sent as an
administrator, with a token fetched again every two seconds. The fuzzer may well change
an administrator's password, disable it or end its sessions (that is what the admin API is
for), so there are several (`st0` ... `st9`, made by the script) and the next one that can
still sign in takes over."""
import os

import requests
import schemathesis

BASE = os.environ["ST_BASE"]
PASSWORD = os.environ["ST_PASSWORD"]
ADMINS = [f"st{i}" for i in range(int(os.environ.get("ST_ADMINS", "10")))]


@schemathesis.auth(refresh_interval=2)
class Administrator:
    def get(self, case, context):
        for name in ADMINS:
            r = requests.post(
                f"{BASE}/oauth/token",
                data={
                    "grant_type": "password",
                    "client_id": "tessera-admin",
                    "username": name,
                    "password": PASSWORD,
                    "scope": "admin",
                },
                timeout=10,
            )
            if r.status_code == 200:
                return r.json()["access_token"]
        # Every case after this would pass on a 401: fail the run instead.
        raise RuntimeError("no administrator can sign in any more (st0 ... st9)")

    def set(self, case, data, context):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
