#!/usr/bin/env python3
"""After tests/crash.sh: checks each chain's last token, and the whole database.

  crash_check.py CHAINS.jsonl DATABASE_URL LOAD.json BASE_URL CLIENT SECRET CHAINS_STARTED

From the clients: a chain that was still rotating at the end holds a token the server
acknowledged; it must be stored, unused, in a live family, and exchange once more over
HTTP now. A chain refused after a request that got no answer (the server died after
committing that rotation) must find its family revoked, with a reason. From the database:
no token has two children (none was exchanged twice) and no live family has two live
heads. Prints one JSON line; exits 1 on any violation.
"""
import base64, hashlib, json, subprocess, sqlite3, sys, urllib.parse, urllib.request

chains_file, db_url, load_file, base, client, secret, expected = sys.argv[1:8]


def query(sql, args=()):
    if db_url.startswith("sqlite:"):
        path = urllib.parse.urlparse(db_url.replace("sqlite://", "file://", 1)).path
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            return con.execute(sql, args).fetchall()
        finally:
            con.close()
    for a in args:  # psql takes no parameters: the values are our own hex digests
        sql = sql.replace("?", "'" + a.replace("'", "") + "'", 1)
    out = subprocess.run(["psql", db_url, "-At", "-F", "\t", "-c", sql],
                         check=True, capture_output=True, text=True).stdout
    return [tuple(None if v == "" else v for v in line.split("\t"))
            for line in out.splitlines() if line]


def exchange(token):
    body = urllib.parse.urlencode({"grant_type": "refresh_token", "refresh_token": token}).encode()
    req = urllib.request.Request(f"{base}/oauth/token", data=body)
    auth = base64.b64encode(f"{client}:{secret}".encode()).decode()
    req.add_header("Authorization", f"Basic {auth}")
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as e:
        return e.code, json.load(e)


chains = [json.loads(l) for l in open(chains_file) if l.strip()]
load = json.load(open(load_file))
violations = []
if len(chains) != int(expected):
    violations.append(f"{len(chains)} chains reported, {expected} started")
setup = {k: v for k, v in load["errors"].items() if k.startswith("sign-in")}
if setup:
    violations.append(f"chains that never started: {setup}")
alive = revoked = 0
for c in chains:
    token = c["token"]
    if not token:
        violations.append(f"chain {c['chain']}: holds no token")
        continue
    digest = hashlib.sha256(token.encode()).hexdigest()
    rows = query(
        "SELECT t.used_at, t.invalidated, f.revoked_at, f.revoke_reason FROM refresh_tokens t "
        "JOIN refresh_families f ON f.id = t.family_id WHERE t.token_hash = ?", (digest,))
    if not rows:
        violations.append(f"chain {c['chain']}: its last acknowledged token is not stored")
        continue
    used_at, invalidated, revoked_at, reason = rows[0]
    if c["refused"] is None:
        alive += 1
        if used_at is not None or revoked_at is not None or invalidated in (1, "t", True):
            violations.append(f"chain {c['chain']}: its live token is used or revoked")
        status, answer = exchange(token)
        if status != 200:
            violations.append(f"chain {c['chain']}: its token no longer exchanges: {answer}")
    else:
        revoked += 1
        if revoked_at is None or not reason:
            violations.append(f"chain {c['chain']}: refused, but its family is not revoked")

# A retry within the reuse leeway replaces an unused child (marked invalidated): only
# children that were not replaced count.
twice = query("SELECT parent_id FROM refresh_tokens WHERE parent_id IS NOT NULL "
              "GROUP BY parent_id HAVING SUM(CASE WHEN invalidated THEN 0 ELSE 1 END) > 1")
if twice:
    violations.append(f"{len(twice)} tokens exchanged twice")
heads = query(
    "SELECT t.family_id FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id "
    "WHERE t.used_at IS NULL AND t.invalidated = ? AND f.revoked_at IS NULL "
    "GROUP BY t.family_id HAVING COUNT(*) > 1",
    (0,) if db_url.startswith("sqlite:") else ("false",))
if heads:
    violations.append(f"{len(heads)} live families with two live heads")
reasons = dict(query("SELECT revoke_reason, COUNT(*) FROM refresh_families "
                     "WHERE revoked_at IS NOT NULL GROUP BY revoke_reason"))
print(json.dumps({
    "chains": len(chains),
    "rotations_acknowledged": load["ok"],
    "still_rotating": alive,
    "revoked_after_a_lost_answer": revoked,
    "requests_in_flight_at_a_kill": sum(c["lost_answers"] for c in chains),
    "families_revoked_by_reason": {k: int(v) for k, v in reasons.items()},
    "driver_errors": load["errors"],
    "violations": violations,
}))
sys.exit(1 if violations else 0)
