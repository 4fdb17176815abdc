"""The pages, rendered on the server from the same functions as the API; forms post back here, live progress polls the API."""

from __future__ import annotations

import hmac
import json
from typing import Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile  # what a parsed form holds

from platoons.scenario.load import preset_description, preset_names
from platoons.web import service
from platoons.web.api import read_upload, reproduce_job
from platoons.web.app import COOKIE, static_text
from platoons.web.results import block_key, result_view
from platoons.web.scenarios import ClientError, form_changes, form_sections, safe_file_name, slug

router = APIRouter(include_in_schema=False)
OPEN_SECTIONS = ("design", "run")  # the editor opens these; the world and the sector start folded
STATIC_TYPES = {".css": "text/css", ".js": "text/javascript"}


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    return request.app.state.templates.TemplateResponse(request, name, context, status_code=status)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


@router.get("/", response_class=HTMLResponse)
def home(request: Request):
    return _home(request, None)


def _home(request: Request, error: str | None, status: int = 200) -> HTMLResponse:
    state = request.app.state
    presets = [(name, preset_description(name)) for name in preset_names()]
    jobs = [state.jobs.status(j.id) for j in state.store.jobs(limit=10)]
    return render(request, "home.html", {"presets": presets, "designs": state.store.designs(), "jobs": jobs,
                                         "error": error}, status)


# designs --------------------------------------------------------------------------------------


@router.get("/designs/new", response_class=HTMLResponse)
def new_design(request: Request, preset: str = "default"):
    begin = service.start(request.app.state.store, preset=preset)
    return _editor(request, begin, {"_preset": preset}, None)


@router.get("/designs/{design_id}", response_class=HTMLResponse, name="design_page")
def saved_design(request: Request, design_id: str):
    saved = request.app.state.store.design(design_id)
    if saved is None:
        raise HTTPException(404, f"design: no saved design {design_id!r} on this server")
    begin = service.start(request.app.state.store, design=design_id)
    return _editor(request, begin, {"_design": design_id}, saved)


@router.post("/designs", response_class=HTMLResponse)
async def save_design(request: Request):
    store = request.app.state.store
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    origin = {k: form[k] for k in ("_preset", "_design") if form.get(k)}
    begin = service.start(store, preset=origin.get("_preset"), design=origin.get("_design"))
    changes = form_changes(begin.scenario, form)
    try:
        if form.get("_action") == "check":
            scenario = service.changed(begin, changes, "form")
            return _editor(request, begin, origin, None, values=form, checked=service.summary_line(scenario),
                           changes=changes)
        design = service.save(store, begin, changes, form.get("_name"))
    except ClientError as error:
        return _editor(request, begin, origin, None, values=form, problem=error, changes=changes, status=400)
    return see(f"/designs/{design.id}")


@router.post("/designs/upload", response_class=HTMLResponse)
async def upload_design(request: Request):
    form = await request.form()
    file = form.get("file")
    if not isinstance(file, UploadFile) or not file.filename:
        return _home(request, "file: choose a scenario YAML file to upload (got none)", 400)
    try:
        text = await read_upload(request, file)
        begin = service.start(request.app.state.store, text=text,
                              file_name=safe_file_name(file.filename, "scenario.yaml"))
        design = service.save(request.app.state.store, begin, {}, None)
    except ClientError as error:
        return _home(request, str(error), 400)
    return see(f"/designs/{design.id}")


def _editor(request: Request, begin: service.Start, origin: dict[str, str], saved, *, values: dict[str, str] | None = None,
            problem: ClientError | None = None, checked: str | None = None, changes: dict | None = None,
            status: int = 200) -> HTMLResponse:
    sections = form_sections(begin.scenario)
    paths = {f.path for s in sections for f in s.fields}
    errors, section_errors, general = {}, {}, None
    if problem is not None:
        message = str(problem).removeprefix("form: ").removeprefix("changes: ")
        target = problem.field
        if target in paths:
            errors[target] = message
        else:
            owner = next((s.key for s in sections if target == s.key or target.startswith(s.key + ".")), None)
            if owner is None:
                owner = next((s.key for s in sections if s.key.startswith(target + ".") or s.key == target), None)
            if owner is not None:
                section_errors[owner] = message
            else:
                general = message
    base_name = saved.name if saved else begin.name
    return render(request, "editor.html", {
        "sections": sections, "values": values or {}, "errors": errors, "section_errors": section_errors,
        "general": general, "checked": checked, "origin": origin, "saved": saved, "name": (values or {}).get("_name", base_name),
        "open_sections": OPEN_SECTIONS, "changes": changes or {}, "start": begin,
        "share": str(request.url_for("design_page", design_id=saved.id)) if saved else None,
        "file_name": f"{slug(saved.name)}.yaml" if saved else None,
    }, status)


# runs and comparisons ----------------------------------------------------------------------------


@router.get("/compare", response_class=HTMLResponse)
def compare_page(request: Request, design: str | None = None):
    return _compare(request, {"baseline": "regional-prime", "designs": [design] if design else [], "replicates": "20",
                              "seed": "0", "months": ""}, None)


@router.post("/compare", response_class=HTMLResponse)
async def compare(request: Request):
    form = await request.form()
    chosen = {"baseline": str(form.get("baseline", "")), "designs": [str(d) for d in form.getlist("designs")],
              "replicates": str(form.get("replicates", "")), "seed": str(form.get("seed", "0")),
              "months": str(form.get("months", "")).strip()}
    state = request.app.state
    try:
        replicates = _whole(chosen["replicates"], "replicates", 1)
        seed = _whole(chosen["seed"] or "0", "seed", 0)
        changes = {"run.months": _whole(chosen["months"], "months", 1)} if chosen["months"] else {}
        designs = [chosen["baseline"]] + [d for d in chosen["designs"] if d != chosen["baseline"]]
        job = service.submit(state.store, state.jobs, "compare", designs, replicates, seed, changes)
    except ClientError as error:
        return _compare(request, chosen, str(error), 400)
    return see(f"/jobs/{job.id}")


def _compare(request: Request, chosen: dict[str, Any], error: str | None, status: int = 200) -> HTMLResponse:
    store = request.app.state.store
    options = [(name, name) for name in preset_names()] + [(d.id, f"{d.name} (saved design)") for d in store.designs()]
    return render(request, "compare.html", {"options": options, "chosen": chosen, "error": error,
                                            "max_runs": request.app.state.settings.max_runs}, status)


def _whole(text: str, field: str, low: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise ClientError(f"{field}: must be a whole number >= {low} (got {text!r})", field) from None
    if value < low:
        raise ClientError(f"{field}: must be a whole number >= {low} (got {value})", field)
    return value


# jobs and results ------------------------------------------------------------------------------


@router.get("/jobs", response_class=HTMLResponse)
def jobs_page(request: Request):
    state = request.app.state
    return render(request, "jobs.html", {"jobs": [state.jobs.status(j.id) for j in state.store.jobs()],
                                         "counts": state.jobs.counts()})


@router.get("/jobs/{job_id}", response_class=HTMLResponse)
def job_page(request: Request, job_id: str):
    return render(request, "job.html", {"job": _job(request, job_id)})


@router.post("/jobs/{job_id}/cancel")
def cancel(request: Request, job_id: str):
    _job(request, job_id)
    request.app.state.jobs.cancel(job_id)
    return see(f"/jobs/{job_id}")


@router.post("/jobs/{job_id}/restart")
def restart(request: Request, job_id: str):
    _job(request, job_id)
    request.app.state.jobs.restart(job_id)
    return see(f"/jobs/{job_id}")


@router.get("/results/{job_id}", response_class=HTMLResponse, name="result_page")
def results(request: Request, job_id: str):
    return _results(request, job_id, "headline")


@router.get("/results/{job_id}/{section}", response_class=HTMLResponse)
def result_section(request: Request, job_id: str, section: str):
    return _results(request, job_id, section)


def _results(request: Request, job_id: str, key: str) -> Response:
    job = _job(request, job_id)
    if job["status"] != "finished":
        return see(f"/jobs/{job_id}")
    view = result_view(request.app.state.store.result_dir(job_id))
    section = view.section(key)
    if section is None:
        raise HTTPException(404, f"section: must be one of {', '.join(s.key for s in view.sections)} (got {key!r})")
    blocks = [(block_key(view, b), b) for b in section.blocks]
    figures = {k: json.loads(view.figure_json(k)) for k, b in blocks if hasattr(b, "figure")}
    return render(request, "results.html", {
        "job": job, "view": view, "section": section, "blocks": blocks, "figures": json.dumps(figures).replace("<", "\\u003c"),
        "reproduce": reproduce_job(request, job), "share": str(request.url_for("result_page", job_id=job_id)),
    })


def _job(request: Request, job_id: str) -> dict[str, Any]:
    status = request.app.state.jobs.status(job_id)
    if status is None:
        raise HTTPException(404, f"job: no job {job_id!r} on this server")
    return status


# the tender tool ---------------------------------------------------------------------------------


@router.get("/tender", response_class=HTMLResponse, name="tender_page")
def tender_page(request: Request):
    return render(request, "tender.html", {"result": None, "error": None, "form": {}})


@router.post("/tender", response_class=HTMLResponse)
async def tender(request: Request):
    from platoons.web.tender import award_tender

    form = await request.form()
    uploads = {}
    settings = {k: str(form.get(k) or "") for k in ("quality_weight", "default_max_lots", "time_limit_s")}
    try:
        for key in ("lots", "bids", "bidders", "rules"):
            file = form.get(key)
            if isinstance(file, UploadFile) and file.filename:
                uploads[key] = (file.filename, await read_upload(request, file))
        result = award_tender(uploads, settings, str(request.url_for("tender_page")))
    except ClientError as error:
        return render(request, "tender.html", {"result": None, "error": str(error), "form": settings}, 400)
    return render(request, "tender.html", {"result": result, "error": None, "form": settings})


# access, the API's description, and static files ------------------------------------------------------


@router.get("/signin", response_class=HTMLResponse)
def signin_page(request: Request, next: str = "/"):
    return render(request, "signin.html", {"next": next, "error": None})


@router.post("/signin", response_class=HTMLResponse)
def signin(request: Request, token: str = Form(""), next: str = Form("/")):
    expected = request.app.state.settings.token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return render(request, "signin.html", {"next": next, "error": "token: must be this server's access token"}, 401)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    response = see(target)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict")
    return response


@router.get("/docs", response_class=HTMLResponse)
def docs(request: Request):
    schema = request.app.openapi()
    return render(request, "docs.html", {"schema": schema, "operations": _operations(schema)})


def _operations(schema: dict[str, Any]) -> list[dict[str, Any]]:
    components = schema.get("components", {}).get("schemas", {})
    rows = []
    for path, methods in schema.get("paths", {}).items():
        for method, operation in methods.items():
            body = operation.get("requestBody", {}).get("content", {})
            fields = []
            for content in body.values():
                ref = content.get("schema", {}).get("$ref", "")
                model = components.get(ref.rsplit("/", 1)[-1], {})
                required = set(model.get("required", []))
                for name, prop in model.get("properties", {}).items():
                    fields.append((name, _type(prop), name in required, prop.get("description", "")))
            rows.append({"method": method.upper(), "path": path, "summary": operation.get("summary", ""),
                         "fields": fields, "responses": sorted(operation.get("responses", {}))})
    return rows


def _type(prop: dict[str, Any]) -> str:
    if "anyOf" in prop:
        return " or ".join(_type(p) for p in prop["anyOf"])
    if prop.get("type") == "array":
        return f"list of {_type(prop.get('items', {}))}"
    if prop.get("format") == "binary" or prop.get("contentMediaType"):
        return "file"
    return prop.get("type", "object")


@router.get("/static/{name}")
def static(name: str):
    if name == "plotly.js":
        from plotly.offline import get_plotlyjs

        return Response(get_plotlyjs(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})
    if name == "report.css":
        from platoons.report.page import STYLE

        return Response(STYLE, media_type="text/css")
    suffix = "." + name.rsplit(".", 1)[-1]
    if name not in ("app.css", "app.js"):
        raise HTTPException(404, f"static: no file {name!r}")
    return Response(static_text(name), media_type=STATIC_TYPES[suffix])
