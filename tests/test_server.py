"""The decision service through a real uvicorn server on a loopback port: auth, answers,
malformed input, concurrency, reload under load, SIGHUP, logs without ID numbers, OpenAPI."""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

import httpx
import pytest
import uvicorn

from sanding_rules.decide import DeciderConfig
from sanding_rules.server import Service, create_app
from tests.test_decide import out, write_dataset, write_grades

ROOT = Path(__file__).resolve().parents[1]
AS_OF = date(2026, 6, 30)
TOKEN = "s3cret-token-0123456789"
ID_NUMBER = "330121197005020138"
MAX_BODY = 65536


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Running:
    """A uvicorn server on a thread."""

    def __init__(self, service: Service, max_body: int = MAX_BODY) -> None:
        self.port = free_port()
        config = uvicorn.Config(
            create_app(service, max_body),
            host="127.0.0.1",
            port=self.port,
            log_config=None,
            access_log=False,
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> Running:
        self.thread.start()
        deadline = time.time() + 30
        while not self.server.started:
            assert time.time() < deadline, "server did not start"
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(10)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    tmp = tmp_path_factory.mktemp("srv")
    data = write_dataset(tmp / "data", movements=out(3), units=2)
    grades = write_grades(tmp / "grades.csv", {"U1": "C", "U2": "A"})
    token = tmp / "token"
    token.write_text(TOKEN + "\n", encoding="utf-8")
    return {"data": data, "grades": grades, "token": token}


@pytest.fixture(scope="module")
def server(files: dict[str, Path]) -> Iterator[Running]:
    config = DeciderConfig(files["data"], grades=files["grades"], as_of=AS_OF)
    with Running(Service(config, token_file=files["token"])) as running:
        yield running


AUTH = {"Authorization": f"Bearer {TOKEN}"}


def client(server: Running, auth: bool = True) -> httpx.Client:
    return httpx.Client(base_url=server.url, headers=AUTH if auth else {}, timeout=60)


REQUESTS = [
    {
        "request_id": "H1",
        "unit_id": "U1",
        "type": "hire",
        "category": "admin",
        "date": "2026-07-01",
    },
    {
        "request_id": "H2",
        "unit_id": "U1",
        "type": "hire",
        "category": "admin",
        "count": 2,
        "date": "2026-07-01",
    },
    {
        "request_id": "H3",
        "unit_id": "U2",
        "type": "hire",
        "category": "admin",
        "count": 3,
        "date": "2026-07-01",
    },
    {
        "request_id": "H4",
        "unit_id": "U2",
        "type": "hire",
        "category": "institution",
        "date": "2026-07-01",
    },
    {
        "request_id": "A1",
        "unit_id": "U2",
        "type": "appoint",
        "level": "principal",
        "date": "2026-07-01",
    },
    {
        "request_id": "A2",
        "unit_id": "U1",
        "type": "appoint",
        "level": "deputy",
        "date": "2026-07-01",
    },
    {"request_id": "B1", "unit_id": "U2", "type": "add_body", "count": 2, "date": "2026-07-01"},
    {
        "request_id": "Q1",
        "unit_id": "U2",
        "type": "add_quota",
        "category": "admin",
        "count": 2,
        "date": "2026-07-01",
    },
    {
        "request_id": "Q2",
        "unit_id": "U2",
        "type": "add_quota",
        "category": "legal",
        "date": "2026-07-01",
    },
    {
        "request_id": "E1",
        "unit_id": "U9",
        "type": "hire",
        "category": "admin",
        "date": "2026-07-01",
    },
]


# ------------------------------------------------------------------------------------- auth


def test_healthz_is_open_and_everything_else_needs_the_token(server: Running) -> None:
    with client(server, auth=False) as c:
        assert c.get("/healthz").json()["status"] == "ok"
        for method, path in [
            ("GET", "/v1/rules"),
            ("GET", "/openapi.json"),
            ("GET", "/v1/units/U1"),
            ("POST", "/v1/decisions"),
            ("POST", "/v1/reload"),
        ]:
            r = c.request(method, path)
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"] == "Bearer"
            assert r.json() == {"error": "missing or wrong bearer token"}
        assert c.get("/v1/rules", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert c.get("/v1/rules", headers={"Authorization": TOKEN}).status_code == 401
    with client(server) as c:
        assert c.get("/v1/rules").status_code == 200


# ---------------------------------------------------------------------------------- answers


def test_decisions_answer_like_the_command(
    server: Running, files: dict[str, Path], tmp_path: Path
) -> None:
    from click.testing import CliRunner

    from sanding_rules.requests_cli import request_command

    with client(server) as c:
        r = c.post("/v1/decisions", json=REQUESTS)
    assert r.status_code == 200
    got = r.json()
    batch = tmp_path / "batch.json"
    batch.write_text(json.dumps(REQUESTS), encoding="utf-8")
    res = CliRunner().invoke(
        request_command,
        [
            str(batch),
            "--data",
            str(files["data"]),
            "--grades",
            str(files["grades"]),
            "--as-of",
            "2026-06-30",
            "--format",
            "json",
        ],
    )
    assert res.exit_code == 0, res.stderr
    cli = json.loads(res.stdout)
    assert got["decisions"] == cli["decisions"]
    assert [e["request_id"] for e in got["errors"]] == ["E1"]
    assert got["errors"][0]["error"] == "item 10: unknown unit 'U9': not in the dataset's units"
    outcome = {d["request_id"]: d["decision"] for d in got["decisions"]}
    assert outcome == {
        "H1": "review",  # grade C, allowance floor(3/2) = 1
        "H2": "suspend",
        "H3": "reject",
        "H4": "reject",
        "A1": "reject",
        "A2": "suspend",
        "B1": "reject",
        "Q1": "reject",
        "Q2": "review",  # grade A, but an open P06 error
    }


def test_one_request_object_and_english(server: Running) -> None:
    with client(server) as c:
        r = c.post("/v1/decisions", params={"lang": "en"}, json=REQUESTS[8])
    assert r.status_code == 200
    (d,) = r.json()["decisions"]
    assert d["decision"] == "review"
    assert d["reasons"][0]["message"] == "the unit has 1 open error findings (P06): strict review"


def test_unit_and_rules(server: Running) -> None:
    with client(server) as c:
        unit = c.get("/v1/units/U1").json()
        assert unit["grade"] == {"grade": "C", "audited_on": "2026-03-31", "source": "grades"}
        assert {q["category"]: q["approved"] for q in unit["quotas"]}["admin"] == 6
        assert [f["rule"] for f in unit["findings"]] == ["Q03"]  # the unused institution quota
        u2 = c.get("/v1/units/U2", params={"lang": "en"}).json()
        assert [f["rule"] for f in u2["findings"]] == ["P06", "Q03"]
        assert "*" in json.dumps(u2["findings"][0]["evidence"], ensure_ascii=False)
        assert c.get("/v1/units/U9").status_code == 404
        assert c.get("/v1/units/" + "x" * 300).status_code == 422
        rules = c.get("/v1/rules").json()
        assert "Q01" in {r["id"] for r in rules["rules"]}
        assert rules["policy"]["rules"][0]["id"] == "DEC01"


# -------------------------------------------------------------------------- bad input: 4xx


@pytest.mark.parametrize(
    "content, headers, status",
    [
        (b"{not json", {}, 422),
        (b'"a string"', {}, 422),
        (b"[1, 2]", {}, 422),
        (b"[]", {}, 422),
        (b"", {}, 422),
        (json.dumps([{}] * 1001).encode(), {}, 422),
        (b"x" * (MAX_BODY + 1), {}, 413),
    ],
)
def test_malformed_input_gets_4xx_with_a_message(server: Running, content, headers, status) -> None:
    with client(server) as c:
        r = c.post(
            "/v1/decisions",
            content=content,
            headers={"Content-Type": "application/json", **headers},
        )
    assert r.status_code == status
    assert isinstance(r.json()["error"], str) and r.json()["error"]


def test_a_chunked_oversized_body_gets_413(server: Running) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(20):
            yield b" " * 8192

    with client(server) as c:
        r = c.post("/v1/decisions", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_wrong_field_types_are_per_request_errors(server: Running) -> None:
    bad = [
        {**REQUESTS[0], "request_id": "X", "count": [1]},
        {**REQUESTS[0], "request_id": 7, "date": {}},
        REQUESTS[1],
    ]
    with client(server) as c:
        r = c.post("/v1/decisions", json=bad, params={"lang": "zh"})
        assert c.post("/v1/decisions", json=REQUESTS[0], params={"lang": "fr"}).status_code == 422
    assert r.status_code == 200
    doc = r.json()
    assert [d["request_id"] for d in doc["decisions"]] == ["H2"]
    assert [(e["request_id"], e["error"]) for e in doc["errors"]] == [
        ("X", "item 1: count must be a whole number, got a list"),
        ("7", "item 2: date must be text, got {}"),
    ]


# -------------------------------------------------------------------------------- concurrency


def test_parallel_clients_agree_with_sequential_answers(server: Running) -> None:
    # Small calls are decided on the event loop, batches over INLINE_BATCH on worker threads.
    pool = [[r] for r in REQUESTS] + [REQUESTS[:4], REQUESTS[3:9], REQUESTS, REQUESTS * 2]
    with client(server) as c:
        expected = [c.post("/v1/decisions", json=body).json() for body in pool]

    def worker(seed: int) -> list[tuple[int, int, dict]]:
        got = []
        with client(server) as c:
            for i in range(50):
                k = (seed * 7 + i) % len(pool)
                r = c.post("/v1/decisions", json=pool[k])
                got.append((k, r.status_code, r.json()))
        return got

    with ThreadPoolExecutor(16) as ex:
        results = [x for part in ex.map(worker, range(16)) for x in part]
    assert len(results) == 800
    for k, status, body in results:
        assert status == 200
        assert body == expected[k]


def test_reload_during_load_fails_no_call(server: Running) -> None:
    with client(server) as c:
        before = c.get("/healthz").json()["generation"]
        expected = c.post("/v1/decisions", json=REQUESTS).json()
    stop = threading.Event()
    failures: list[str] = []
    calls = [0]

    def worker() -> None:
        with client(server) as c:
            while not stop.is_set():
                r = c.post("/v1/decisions", json=REQUESTS)
                calls[0] += 1
                if r.status_code != 200 or r.json() != expected:
                    failures.append(f"{r.status_code} {r.text[:200]}")

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    try:
        # Reload only once the load is running, and keep it running past the last reload,
        # whatever the speed of this machine.
        deadline = time.monotonic() + 30
        while calls[0] < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        with client(server) as c:
            for _ in range(3):
                r = c.post("/v1/reload")
                assert r.status_code == 200, r.text
        after = calls[0] + 10
        while calls[0] < after and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert not failures
    assert calls[0] >= 20
    with client(server) as c:
        assert c.get("/healthz").json()["generation"] == before + 3


def test_a_concurrent_reload_is_refused_and_a_failed_one_keeps_the_data(files, tmp_path) -> None:
    data = write_dataset(tmp_path / "data")
    service = Service(DeciderConfig(data, as_of=AS_OF))
    assert service._reload_lock.acquire()
    with Running(service) as srv, client(srv) as c:
        assert c.post("/v1/reload").status_code == 409
        service._reload_lock.release()
        (data / "units.csv").write_text("unit_id,name\nU1,x\n", encoding="utf-8")
        r = c.post("/v1/reload")
        assert r.status_code == 422 and "previous data stays in use" in r.json()["error"]
        assert c.get("/healthz").json()["generation"] == 1
        assert (
            c.post("/v1/decisions", json=REQUESTS[0]).json()["decisions"][0]["decision"] == "review"
        )


@pytest.mark.skipif(not hasattr(signal, "SIGHUP"), reason="needs SIGHUP")
def test_sighup_reloads_a_served_process(files: dict[str, Path]) -> None:
    port = free_port()
    code = "from sanding_rules.requests_cli import serve_command; serve_command()"
    args = [
        sys.executable,
        "-c",
        code,
        "--data",
        str(files["data"]),
        "--grades",
        str(files["grades"]),
        "--port",
        str(port),
        "--as-of",
        "2026-06-30",
    ]
    proc = subprocess.Popen(
        args,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        url = f"http://127.0.0.1:{port}/healthz"
        deadline = time.time() + 60
        while True:
            try:
                assert httpx.get(url).json()["generation"] == 1
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.time() < deadline
                time.sleep(0.1)
        proc.send_signal(signal.SIGHUP)
        while httpx.get(url).json()["generation"] != 2:
            assert time.time() < deadline
            time.sleep(0.1)
        assert proc.poll() is None
    finally:
        proc.terminate()
        proc.wait(10)
        log = proc.stderr.read().decode() if proc.stderr else ""
    assert '"GET /healthz" 200' in log


# ----------------------------------------------------------------------------- logs, OpenAPI


def test_access_logs_never_contain_id_numbers(
    server: Running, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="sanding_rules")
    body = [
        {**REQUESTS[0], "request_id": ID_NUMBER, "reason": ID_NUMBER},
        {**REQUESTS[0], "unit_id": ID_NUMBER},
    ]
    with client(server) as c:
        assert c.post("/v1/decisions", json=body, params={"q": ID_NUMBER}).status_code == 200
        assert c.get(f"/v1/units/{ID_NUMBER}", params={"id": ID_NUMBER}).status_code == 404
        assert c.get(f"/nothing/{ID_NUMBER}").status_code == 404
        assert c.post("/v1/decisions", content=ID_NUMBER.encode()).status_code == 422
    text = caplog.text
    assert '"POST /v1/decisions" 200' in text
    assert '"GET /v1/units/{unit_id}" 404' in text
    assert '"GET /nothing/***" 404' in text
    assert ID_NUMBER not in text
    assert ID_NUMBER[:14] not in text


def test_openapi_document_is_valid(server: Running) -> None:
    from openapi_spec_validator import validate

    with client(server) as c:
        spec = c.get("/openapi.json").json()
    validate(spec)
    paths = spec["paths"]
    assert {"/v1/decisions", "/v1/units/{unit_id}", "/v1/rules", "/v1/reload", "/healthz"} <= set(
        paths
    )
    assert "413" in paths["/v1/decisions"]["post"]["responses"]
