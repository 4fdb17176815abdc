"""The ASGI app: access, limits and errors around the API (`/api/...`) and the pages rendered on the server."""

from __future__ import annotations

import hmac
import logging
from contextlib import asynccontextmanager
from functools import lru_cache
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.exceptions import HTTPException as StarletteHTTPException

from platoons.errors import InputError
from platoons.web.jobs import JobManager, QueueFull
from platoons.web.scenarios import ClientError, client_error
from platoons.web.settings import Settings
from platoons.web.store import WebStore

log = logging.getLogger("platoons.web")
COOKIE = "platoons_token"
UNEXPECTED = "the server could not do this; its log has the details"
OPEN_PATHS = ("/signin", "/static/")  # the sign-in page and its styles show nothing stored


def create_app(settings: Settings) -> FastAPI:
    from platoons.web import api, pages

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = WebStore(settings.data)
        jobs = JobManager(store, settings)
        app.state.store, app.state.jobs = store, jobs
        jobs.start()
        try:
            yield
        finally:
            jobs.stop()
            store.close()

    app = FastAPI(title="Platoons", version=_version(), lifespan=lifespan, docs_url=None, redoc_url=None,
                  description="Design a commissioning approach, compare it with others on common random numbers, "
                              "share it, and award real tenders. Every page of the web app uses these endpoints' "
                              "Python functions; scripts use the endpoints.")
    app.state.settings = settings
    app.state.templates = templates()
    app.include_router(api.router)
    app.include_router(pages.router)
    _guard(app, settings)
    _errors(app)
    return app


def templates() -> Jinja2Templates:
    env = Environment(loader=PackageLoader("platoons.web", "templates"), autoescape=select_autoescape(["html"]),
                      trim_blocks=True, lstrip_blocks=True)
    return Jinja2Templates(env=env)


def _guard(app: FastAPI, settings: Settings) -> None:
    @app.middleware("http")
    async def limits_and_access(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > settings.max_upload_bytes):
            return _problem(request, 413, f"request body: must be at most {settings.max_upload_bytes:,} bytes "
                                          f"(got {length})")
        if settings.token and not request.url.path.startswith(OPEN_PATHS) and not _signed_in(request, settings.token):
            if _wants_json(request):
                return JSONResponse({"error": "a token is required: send the header 'Authorization: Bearer TOKEN'"},
                                    status_code=401, headers={"WWW-Authenticate": "Bearer"})
            page = app.state.templates.TemplateResponse(request, "signin.html", {"next": request.url.path, "error": None},
                                                        status_code=401)
            return page
        try:
            return await call_next(request)
        except Exception:  # whatever went wrong, the client gets one line and the log gets the traceback
            log.exception("error serving %s", request.url.path)
            return _problem(request, 500, UNEXPECTED)


def _signed_in(request: Request, token: str) -> bool:
    header = request.headers.get("authorization", "")
    given = header.removeprefix("Bearer ").strip() if header.startswith("Bearer ") else request.cookies.get(COOKIE, "")
    return bool(given) and hmac.compare_digest(given.encode(), token.encode())


def _errors(app: FastAPI) -> None:
    @app.exception_handler(ClientError)
    async def client(request: Request, error: ClientError):
        return _problem(request, 400, str(error), error.field)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, error: InputError):
        problem = client_error(error)
        return _problem(request, 400, str(problem), problem.field)

    @app.exception_handler(QueueFull)
    async def busy(request: Request, error: QueueFull):
        return _problem(request, 429, str(error))

    @app.exception_handler(RequestValidationError)
    async def malformed(request: Request, error: RequestValidationError):
        first = error.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path", "form"))
        received = first.get("input")
        message = f"{where or 'request'}: {first.get('msg', 'invalid').removeprefix('Input should be ')}"
        if first.get("type") == "json_invalid":
            message = f"request body: must be JSON ({first.get('ctx', {}).get('error', 'not JSON')})"
        elif first.get("type") == "missing":
            message = f"{where}: is required (got nothing)"
        elif not isinstance(received, (dict, list)) and received is not None:
            message += f" (got {received!r})"
        return _problem(request, 400, message, where)

    @app.exception_handler(StarletteHTTPException)
    async def http(request: Request, error: StarletteHTTPException):
        return _problem(request, error.status_code, str(error.detail))



def _problem(request: Request, status: int, message: str, field: str = "") -> Response:
    """An error as one line: JSON for the API, a short page for a person."""
    if _wants_json(request):
        return JSONResponse({"error": message, **({"field": field} if field else {})}, status_code=status)
    page = request.app.state.templates.get_template("error.html").render(request=request, status=status, message=message)
    return HTMLResponse(page, status_code=status)


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.url.path == "/openapi.json"


@lru_cache(maxsize=1)
def _version() -> str:
    from platoons import __version__

    return __version__


def static_text(name: str) -> str:
    return resources.files("platoons.web").joinpath("static", name).read_text(encoding="utf-8")
