"""The JSON API: validate, designs, runs and comparisons as jobs, job status, results and the tender tool.

Bad input is HTTP 400 with `{"error": "one line", "field": ...}`, the CLI's message for the same input.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from platoons.scenario.load import preset_description, preset_names
from platoons.web import service
from platoons.web.jobs import is_final
from platoons.web.results import parquet_zip, reproduce, result_view
from platoons.web.scenarios import ClientError, safe_file_name, slug
from platoons.web.store import Design

router = APIRouter(prefix="/api")


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScenarioBody(Body):
    """A scenario: a preset, a saved design or a YAML text (exactly one), with dotted-path changes on top."""

    preset: str | None = Field(None, description="A preset name, e.g. regional-prime.")
    design: str | None = Field(None, description="The id of a saved design.")
    yaml: str | None = Field(None, description="A scenario file's text; its `base`, if any, must be a preset.")
    file_name: str = Field("scenario.yaml", description="The name to give the YAML text in messages.")
    changes: dict[str, Any] = Field(default_factory=dict, description="Dotted-path changes, as `--set` takes them.")


class DesignBody(ScenarioBody):
    name: str | None = Field(None, max_length=200, description="The design's name (default: from its start).")


class RunBody(Body):
    design: str = Field(..., description="A preset name or the id of a saved design.")
    seed: int | None = Field(None, ge=0, description="Seed (default: the scenario's run.seed).")
    changes: dict[str, Any] = Field(default_factory=dict, description="Changes applied to the design.")


class CompareBody(Body):
    designs: list[str] = Field(..., min_length=1, description="Presets or saved design ids; the first is the baseline.")
    replicates: int = Field(20, ge=1, description="Replicates per design, on common random numbers.")
    seed: int = Field(0, ge=0, description="Base seed of the replicates.")
    changes: dict[str, Any] = Field(default_factory=dict, description="Changes applied to every design.")


@router.get("/presets", summary="The shipped scenarios")
def presets() -> list[dict[str, str]]:
    return [{"name": name, "description": preset_description(name)} for name in preset_names()]


@router.get("/parameters", summary="Every scenario parameter: unit, default, description and source")
def parameters() -> list[dict[str, str]]:
    from platoons.scenario.describe import parameters as rows

    return rows()


@router.post("/validate", summary="Check a scenario as `platoons validate` does")
def validate(body: ScenarioBody, request: Request) -> dict[str, Any]:
    begin = service.start(request.app.state.store, body.preset, body.design, body.yaml, body.file_name)
    scenario = service.changed(begin, body.changes)
    return {"valid": True, "summary": service.summary_line(scenario), "scenario": scenario.model_dump(mode="json")}


@router.post("/designs", status_code=201, summary="Save a design (a preset or design with changes, or YAML)")
def save_design(body: DesignBody, request: Request) -> dict[str, Any]:
    store = request.app.state.store
    begin = service.start(store, body.preset, body.design, body.yaml, body.file_name)
    return _design(service.save(store, begin, body.changes, body.name))


@router.post("/designs/upload", status_code=201, summary="Save a design from an uploaded YAML file")
async def upload_design(request: Request, file: UploadFile = File(...), name: str | None = Form(None)) -> dict[str, Any]:
    store = request.app.state.store
    text = await read_upload(request, file)
    begin = service.start(store, text=text, file_name=safe_file_name(file.filename, "scenario.yaml"))
    return _design(service.save(store, begin, {}, name))


@router.get("/designs", summary="Saved designs, newest first")
def designs(request: Request) -> list[dict[str, Any]]:
    return [_design(d) for d in request.app.state.store.designs()]


@router.get("/designs/{design_id}", summary="A saved design and its YAML")
def design(design_id: str, request: Request) -> dict[str, Any]:
    return _design(_saved(request, design_id))


@router.get("/designs/{design_id}/yaml", summary="A saved design as a YAML file `platoons validate` accepts")
def design_file(design_id: str, request: Request) -> Response:
    saved = _saved(request, design_id)
    return PlainTextResponse(saved.yaml, media_type="application/x-yaml",
                             headers={"Content-Disposition": f'attachment; filename="{slug(saved.name)}.yaml"'})


@router.post("/runs", status_code=202, summary="Run one design once, in the background")
def run(body: RunBody, request: Request) -> dict[str, Any]:
    state = request.app.state
    job = service.submit(state.store, state.jobs, "run", [body.design], 1, body.seed, body.changes)
    return state.jobs.status(job.id)


@router.post("/comparisons", status_code=202, summary="Compare designs over replicates, in the background")
def compare(body: CompareBody, request: Request) -> dict[str, Any]:
    state = request.app.state
    job = service.submit(state.store, state.jobs, "compare", body.designs, body.replicates, body.seed, body.changes)
    return state.jobs.status(job.id)


@router.get("/jobs", summary="Jobs, newest first, with the queue and the running count")
def jobs(request: Request) -> dict[str, Any]:
    state = request.app.state
    return {**state.jobs.counts(), "jobs": [state.jobs.status(j.id) for j in state.store.jobs()]}


@router.get("/jobs/{job_id}", summary="A job's status, progress and time left")
def job(job_id: str, request: Request) -> dict[str, Any]:
    return _status(request, job_id)


@router.post("/jobs/{job_id}/cancel", summary="Cancel a queued or running job")
def cancel(job_id: str, request: Request) -> dict[str, Any]:
    _status(request, job_id)
    request.app.state.jobs.cancel(job_id)
    return _status(request, job_id)


@router.post("/jobs/{job_id}/restart", summary="Queue an interrupted, cancelled or failed job again")
def restart(job_id: str, request: Request) -> dict[str, Any]:
    _status(request, job_id)
    request.app.state.jobs.restart(job_id)
    return _status(request, job_id)


@router.get("/jobs/{job_id}/results", summary="Mean and 90% interval per design and metric, and verdicts against the baseline")
def results(job_id: str, request: Request) -> dict[str, Any]:
    status = _finished(request, job_id)
    view = result_view(request.app.state.store.result_dir(job_id))
    return {"job": status, "designs": view.designs, "baseline": view.baseline, "summary": view.summary,
            "verdicts": view.verdicts, "sections": [{"key": s.key, "title": s.title} for s in view.sections],
            "charts": sorted(view.blocks), "reproduce": reproduce_job(request, status)}


@router.get("/jobs/{job_id}/report.html", summary="The whole result as the offline report")
def report(job_id: str, request: Request) -> Response:
    _finished(request, job_id)
    path = request.app.state.store.result_dir(job_id) / "report.html"
    return HTMLResponse(path.read_text(encoding="utf-8"),
                        headers={"Content-Disposition": f'attachment; filename="platoons-{job_id}-report.html"'})


@router.get("/jobs/{job_id}/parquet.zip", summary="The whole result store as Parquet tables")
def parquet(job_id: str, request: Request) -> Response:
    _finished(request, job_id)
    return Response(parquet_zip(request.app.state.store.result_dir(job_id)), media_type="application/zip",
                    headers={"Content-Disposition": f'attachment; filename="platoons-{job_id}.zip"'})


@router.get("/jobs/{job_id}/csv/{key}.csv", summary="The data of one chart or table as CSV")
def chart_csv(job_id: str, key: str, request: Request) -> Response:
    _finished(request, job_id)
    view = result_view(request.app.state.store.result_dir(job_id))
    if key not in view.blocks:
        raise ClientError(f"chart: must be one of {', '.join(sorted(view.blocks))} (got {key!r})", "chart")
    block = view.blocks[key]
    return PlainTextResponse(block.data.csv(), media_type="text/csv",
                             headers={"Content-Disposition": f'attachment; filename="{block.data.filename}"'})


@router.post("/tender", summary="Award a tender from its files, as `platoons tender` does")
async def tender(request: Request, lots: UploadFile = File(...), bids: UploadFile = File(...),
                 bidders: UploadFile | None = File(None), rules: UploadFile | None = File(None),
                 quality_weight: str | None = Form(None), default_max_lots: str | None = Form(None),
                 time_limit_s: str | None = Form(None)) -> dict[str, Any]:
    from platoons.web.tender import award_tender

    uploads = {key: (f.filename, await read_upload(request, f))
               for key, f in (("lots", lots), ("bids", bids), ("bidders", bidders), ("rules", rules))
               if f is not None and f.filename}
    rules = {"quality_weight": quality_weight, "default_max_lots": default_max_lots, "time_limit_s": time_limit_s}
    return award_tender(uploads, rules,
                        str(request.url_for("tender_page")))


# helpers the pages share ----------------------------------------------------------------------


async def read_upload(request: Request, file: UploadFile) -> bytes:
    limit = request.app.state.settings.max_upload_bytes
    content = await file.read(limit + 1)
    if len(content) > limit:
        raise ClientError(f"{safe_file_name(file.filename, 'file')}: must be at most {limit:,} bytes", "file")
    return content


def reproduce_job(request: Request, status: dict[str, Any]) -> dict[str, Any]:
    store = request.app.state.store
    names = {ref: store.design(ref).name for ref in status["refs"] if ref not in preset_names() and store.design(ref)}
    spec = {"designs": status["refs"], "labels": status["designs"], "replicates": status["replicates"],
            "seed": status["seed"], "changes": status["changes"]}
    steps = reproduce(status["kind"], spec, names)
    steps["downloads"] = {f"{slug(name)}.yaml": f"/api/designs/{ref}/yaml" for ref, name in names.items()}
    return steps


def _status(request: Request, job_id: str) -> dict[str, Any]:
    status = request.app.state.jobs.status(job_id)
    if status is None:
        raise HTTPException(404, f"job: no job {job_id!r} on this server")
    return status


def _finished(request: Request, job_id: str) -> dict[str, Any]:
    status = _status(request, job_id)
    if status["status"] != "finished":
        detail = "" if is_final(status["status"]) else " yet"
        raise HTTPException(409, f"job {status['id']} has no results{detail} (it is {status['status']})")
    return status


def _saved(request: Request, design_id: str) -> Design:
    saved = request.app.state.store.design(design_id)
    if saved is None:
        raise HTTPException(404, f"design: no saved design {design_id!r} on this server")
    return saved


def _design(design: Design) -> dict[str, Any]:
    return {"id": design.id, "name": design.name, "base": design.base, "yaml": design.yaml, "created": design.created,
            "page": f"/designs/{design.id}", "file": f"/api/designs/{design.id}/yaml"}

