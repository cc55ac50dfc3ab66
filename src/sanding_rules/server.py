"""The decision service: JSON over HTTP, FastAPI on uvicorn, bound to 127.0.0.1 by default.

- POST /v1/decisions: one request object or a list; answers the contract's object (decisions,
  errors), exactly like `sanding request --format json`.
- GET /v1/units/{unit_id}: the unit's facts, grade and open findings.
- GET /v1/rules: the audit rules in use and the decision policy.
- POST /v1/reload (or SIGHUP): rebuild everything from the files, then swap it in.
- GET /healthz: liveness, open without a token. GET /openapi.json: the OpenAPI document.

Concurrency: small decision calls run on the event loop, large batches, unit views, rules and
reloads in the thread pool; every call into durable-rules goes through the adapter's lock
(engine.RuleSet serialises its C calls), and a decision touches no shared mutable state. The loaded state (decider, token, generation) is one immutable object; a handler
takes it once, so a reload, which builds the new state fully before swapping the reference,
never changes the state under a call in flight.

Logs: one access line per call with method, route template (never the raw path or query
string), status and time; bodies are never logged, nor exception messages (they can quote
input), so ID numbers never reach the log.
"""

from __future__ import annotations

import hmac
import json
import logging
import re
import signal
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, HTTPException, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from .decide import Decider, DeciderConfig, load_decider
from .errors import InputError, Problem
from .requests import raw_requests

access_log = logging.getLogger("sanding_rules.access")
log = logging.getLogger("sanding_rules.server")

MAX_BATCH = 1000
# Batches up to this size are decided on the event loop, larger ones on a worker thread.
INLINE_BATCH = 8
MAX_UNIT_ID = 200
# Anything that looks like an ID number (15 or 18 characters of digits, maybe ending in X).
_ID_LIKE = re.compile(r"\d{14,17}[\dXx]")


class ReloadBusy(RuntimeError):
    """A reload is already running."""


def read_token(path: Path) -> str:
    """The bearer token in a file (surrounding whitespace ignored); InputError when unusable."""
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([Problem(str(path), f"cannot read the token file: {exc}")]) from None
    if len(token) < 16:
        raise InputError([Problem(str(path), "the token must be at least 16 characters")])
    return token


@dataclass(frozen=True)
class State:
    """Everything a call needs, swapped as one reference on reload."""

    decider: Decider
    token: str | None
    generation: int
    loaded_at: str


class Service:
    """The loaded state and how to reload it."""

    def __init__(self, config: DeciderConfig, token_file: Path | None = None) -> None:
        self.config = config
        self.token_file = token_file
        self._reload_lock = threading.Lock()
        self.state = self._build(1)

    def _build(self, generation: int) -> State:
        token = read_token(self.token_file) if self.token_file is not None else None
        decider = load_decider(self.config)
        loaded = datetime.now(UTC).isoformat(timespec="seconds")
        return State(decider, token, generation, loaded)

    def reload(self) -> State:
        """Build a new state from the files, then swap it in; ReloadBusy when one is running."""
        if not self._reload_lock.acquire(blocking=False):
            raise ReloadBusy("a reload is already running")
        try:
            new = self._build(self.state.generation + 1)
            self.state = new  # one reference assignment: calls in flight keep the old state
            return new
        finally:
            self._reload_lock.release()

    def reload_in_background(self) -> None:
        """Reload on a thread (for SIGHUP); failures are logged and the old state stays."""

        def work() -> None:
            try:
                state = self.reload()
                log.info("reloaded: generation %d", state.generation)
            except ReloadBusy:
                log.warning("reload requested while one is running: ignored")
            except InputError as exc:
                log.error("reload failed, previous data kept: %d problems", len(exc.problems))
            except Exception as exc:  # noqa: BLE001
                log.error("reload failed, previous data kept: %s", type(exc).__name__)

        threading.Thread(target=work, name="sanding-reload", daemon=True).start()


# ---------------------------------------------------------------------------------- schemas


class DecisionRequest(BaseModel):
    """One staffing request. Fields are checked one request at a time: a malformed request gets
    its own entry in `errors` and the others are still decided. Chinese field names (单位代码,
    申请类型, ...) are accepted too."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "request_id": "R1",
                    "unit_id": "U0001",
                    "type": "hire",
                    "category": "admin",
                    "count": 2,
                    "date": "2026-07-01",
                    "reason": "新增职能",
                }
            ]
        },
    )

    request_id: Any = Field(None, description="Your id of the request (text).")
    unit_id: Any = Field(None, description="The unit's id in the dataset.")
    type: Any = Field(
        None, description="hire 进人, add_quota 增编, add_body 增设内设机构, appoint 配备领导"
    )
    category: Any = Field(
        None, description="Staffing category (hire, add_quota): admin, 行政编制, ..."
    )
    level: Any = Field(None, description="Leadership level (appoint): principal, 单位正职, ...")
    count: Any = Field(None, description="How many (whole number >= 1, default 1).")
    date: Any = Field(None, description="Date of the request: 2026-07-01 or 2026年7月1日.")
    reason: Any = Field(None, description="Why (optional).")


class Reason(BaseModel):
    model_config = ConfigDict(extra="allow")
    rule: str = Field(description="The audit rule (Q01, L02, B01...) or the policy rule applied.")
    message: str
    evidence: dict[str, Any] = Field(description="The numbers compared.")
    basis: str
    policy_rule: str | None = None
    messages: dict[str, str] | None = None
    bases: dict[str, str] | None = None


class DecisionOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    request_id: str
    unit_id: str
    decision: str = Field(description="reject, suspend, review or priority")
    reasons: list[Reason]


class ErrorOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    request_id: str | None
    error: str


class DecisionsOut(BaseModel):
    model_config = ConfigDict(extra="allow")
    decisions: list[DecisionOut]
    errors: list[ErrorOut]


class Message(BaseModel):
    model_config = ConfigDict(extra="allow")
    error: str


class Health(BaseModel):
    status: str
    generation: int
    loaded_at: str


class ReloadOut(BaseModel):
    generation: int
    loaded_at: str
    units: int
    people: int


_ERRORS = {
    400: {"model": Message, "description": "Bad JSON"},
    401: {"model": Message, "description": "Missing or wrong bearer token"},
    413: {"model": Message, "description": "Body too large"},
    422: {"model": Message, "description": "Body of the wrong shape"},
}


# ------------------------------------------------------------------------------- middleware


def _masked(path: str) -> str:
    return _ID_LIKE.sub("***", path)


class Guard:
    """Pure ASGI middleware: access log, bearer token, body size limit."""

    def __init__(self, app: Any, service: Service, max_body: int) -> None:
        self.app, self.service, self.max_body = app, service, max_body

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [500]
        started = [False]

        async def send_logged(message: dict) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                started[0] = True
            await send(message)

        try:
            headers = dict(scope.get("headers") or [])
            token = self.service.state.token
            if token is not None and scope["path"] != "/healthz":
                given = headers.get(b"authorization", b"")
                scheme, _, value = given.partition(b" ")
                ok = scheme.lower() == b"bearer" and hmac.compare_digest(
                    value.strip(), token.encode()
                )
                if not ok:
                    await _reply(send_logged, 401, "missing or wrong bearer token", bearer=True)
                    return
            length = headers.get(b"content-length")
            if length is not None:
                if not length.isdigit():
                    await _reply(send_logged, 400, "invalid Content-Length")
                    return
                if int(length) > self.max_body:
                    await _reply(send_logged, 413, f"body larger than {self.max_body} bytes")
                    return
            seen = [0]
            limit = self.max_body

            async def receive_limited() -> dict:
                message = await receive()
                if message["type"] == "http.request":
                    seen[0] += len(message.get("body", b""))
                    if seen[0] > limit:
                        raise HTTPException(413, f"body larger than {limit} bytes")
                return message

            await self.app(scope, receive_limited, send_logged)
        except Exception as exc:  # noqa: BLE001 - the log must not quote input
            log.error("unhandled %s", type(exc).__name__)
            if not started[0]:
                await _reply(send_logged, 500, "internal error")
        finally:
            route = scope.get("route")
            path = getattr(route, "path", None) or _masked(scope.get("path", ""))
            access_log.info(
                '"%s %s" %d %.1fms',
                scope.get("method", "-"),
                path,
                status[0],
                (time.perf_counter() - start) * 1000,
            )


async def _reply(send: Any, code: int, message: str, bearer: bool = False) -> None:
    body = json.dumps({"error": message}, ensure_ascii=False).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if bearer:
        headers.append((b"www-authenticate", b"Bearer"))
    await send({"type": "http.response.start", "status": code, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# -------------------------------------------------------------------------------------- app


def create_app(service: Service, max_body: int = 1_048_576) -> Any:
    """The ASGI application (FastAPI wrapped in the Guard middleware)."""
    from . import __version__

    app = FastAPI(
        title="sanding_rules decisions 编制事项审批决策",
        version=__version__,
        description=(
            "Decisions on staffing requests from the same rules the audit uses and the unit's "
            "grade (evaluation model, section 5). Every call but /healthz needs "
            "`Authorization: Bearer <token>` when the service runs with a token file."
        ),
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
    )

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        details = []
        for err in exc.errors()[:20]:
            loc = ".".join(str(p) for p in err.get("loc", ()))
            details.append({"location": loc, "message": str(err.get("msg", ""))})
        first = details[0] if details else {"location": "body", "message": "invalid"}
        message = f"{first['location']}: {first['message']}"
        return JSONResponse({"error": message, "details": details}, status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse(
            {"error": str(exc.detail)}, status_code=exc.status_code, headers=exc.headers
        )

    @app.get("/healthz", response_model=Health, tags=["service"])
    def healthz() -> dict[str, Any]:
        """Liveness: open without a token."""
        state = service.state
        return {"status": "ok", "generation": state.generation, "loaded_at": state.loaded_at}

    @app.post(
        "/v1/decisions",
        response_model=DecisionsOut,
        responses=_ERRORS,
        tags=["decisions"],
    )
    async def decisions(
        body: DecisionRequest | list[DecisionRequest], lang: str = "zh"
    ) -> Response:
        """Decide one request or a batch (at most 1000): the contract's object."""
        if lang not in ("zh", "en"):
            raise HTTPException(422, "lang must be zh or en")
        state = service.state
        items = body if isinstance(body, list) else [body]
        if not items:
            raise HTTPException(422, "no requests: the list is empty")
        if len(items) > MAX_BATCH:
            raise HTTPException(422, f"at most {MAX_BATCH} requests per call")
        docs = [
            {**{k: getattr(i, k) for k in i.model_fields_set}, **(i.model_extra or {})}
            for i in items
        ]
        raws = raw_requests(docs if isinstance(body, list) else docs[0], None)
        if len(raws) <= INLINE_BATCH:
            # A decision takes a millisecond or two: deciding on the event loop saves handing it
            # to a worker thread and back (and the GIL hand-offs that come with it).
            result = state.decider.decide_batch(raws, lang)
        else:
            result = await run_in_threadpool(state.decider.decide_batch, raws, lang)
        # The object is already the contract's: skip re-validating it through the model.
        return Response(json.dumps(result, ensure_ascii=False), media_type="application/json")

    @app.get(
        "/v1/units/{unit_id}",
        responses={**_ERRORS, 404: {"model": Message, "description": "Unknown unit"}},
        tags=["units"],
    )
    def unit(unit_id: str, lang: str = "zh") -> dict[str, Any]:
        """A unit's facts, grade and open findings (ID numbers masked)."""
        if lang not in ("zh", "en"):
            raise HTTPException(422, "lang must be zh or en")
        if len(unit_id) > MAX_UNIT_ID:
            raise HTTPException(422, "unit_id is too long")
        view = service.state.decider.unit_view(unit_id, lang)
        if view is None:
            raise HTTPException(404, "unknown unit")
        return view

    @app.get("/v1/rules", responses=_ERRORS, tags=["rules"])
    def rules(lang: str = "zh") -> dict[str, Any]:
        """The audit rules in use, those not evaluated on this dataset, and the policy."""
        if lang not in ("zh", "en"):
            raise HTTPException(422, "lang must be zh or en")
        return service.state.decider.rules_view(lang)

    @app.post(
        "/v1/reload",
        response_model=ReloadOut,
        responses={**_ERRORS, 409: {"model": Message, "description": "A reload is running"}},
        tags=["service"],
    )
    def reload() -> dict[str, Any]:
        """Rebuild from the files and swap in; calls in flight finish on the old data."""
        try:
            state = service.reload()
        except ReloadBusy:
            raise HTTPException(409, "a reload is already running") from None
        except InputError as exc:
            raise HTTPException(
                422, f"reload failed, the previous data stays in use: {exc.problems[0]}"
            ) from None
        facts = state.decider.facts
        return {
            "generation": state.generation,
            "loaded_at": state.loaded_at,
            "units": len(facts["unit"]),
            "people": len(facts["person"]),
        }

    return Guard(app, service, max_body)


def log_config() -> dict[str, Any]:
    """uvicorn's logging with its own access log off and ours on stderr."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "plain",
                "stream": "ext://sys.stderr",
            }
        },
        "loggers": {
            "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
            "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
            "sanding_rules": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        },
    }


def run(
    service: Service, host: str = "127.0.0.1", port: int = 8765, max_body: int = 1_048_576
) -> None:
    """Serve until interrupted; SIGHUP reloads."""
    import uvicorn

    if hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGHUP, lambda *_: service.reload_in_background())
    uvicorn.run(
        create_app(service, max_body),
        host=host,
        port=port,
        access_log=False,
        log_config=log_config(),
        server_header=False,
    )
