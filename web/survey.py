"""The satisfaction survey's page, ``/survey/{token}``: public, because the link is the
credential (docs/quality.md). It shows the case the link rates and takes a score 1–5 and a
comment once, through the same desk functions as GET/POST /api/v1/surveys/{token}; a used,
expired or withdrawn link says which, and an unknown token is the one 404 for all. Misses
(unknown tokens, refused answers) are rate-limited per client address and per token like the
API's (api/survey_limits.py): a 429 page with Retry-After."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, Response, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import PathParameter, QueryParameter
from litestar.response import Redirect

from api.deps import runtime_of
from api.survey_limits import client_address, limited
from core.errors import ClientError, InvalidField
from core.store.attempts import TooManySurveyAttempts
from core.surveys import SurveyAnswer, SurveyClosed, SurveyView
from web.forms import form_fields
from web.render import page, translator

PUBLIC = {"public": True}
SurveyToken = Annotated[str, PathParameter(min_length=1, max_length=200)]
Answered = Annotated[int | None, QueryParameter(ge=1, le=1)]
SCORES = (5, 4, 3, 2, 1)


def state_of(view: SurveyView, now: datetime) -> str:
    """``open``, ``used`` (answered), ``expired`` or ``withdrawn`` (the case was re-opened)."""
    if view.usable:
        return "open"
    if view.answered:
        return "used"
    return "expired" if view.expires_at <= now else "withdrawn"


def _survey_page(
    request: Request[Any, Any, Any],
    token: str,
    view: SurveyView,
    *,
    status: int = 200,
    error: str | None = None,
    thanks: bool = False,
    form: dict[str, str] | None = None,
) -> Response[Any]:
    now = runtime_of(request).clock()
    response = page(
        request,
        "survey.html",
        status=status,
        token=token,
        survey=view,
        state=state_of(view, now),
        scores=SCORES,
        error=error,
        thanks=thanks,
        form=form or {},
    )
    response.headers["Referrer-Policy"] = "no-referrer"  # the token is in the URL
    return response


def _throttled(request: Request[Any, Any, Any], exc: TooManySurveyAttempts) -> Response[Any]:
    t = translator(request)
    message, detail = t("survey_too_many"), t("try_again_in", minutes=exc.minutes)
    response = page(request, "error.html", status=429, message=message, detail=detail)
    response.headers["Retry-After"] = str(exc.retry_after)
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


@get("/survey/{token:str}", opt=PUBLIC)
async def survey_page(
    request: Request[Any, Any, Any], token: SurveyToken, answered: Answered = None
) -> Response[Any]:
    """The case, and the form while the link can be answered; else what became of it."""
    runtime = runtime_of(request)

    def lookup() -> SurveyView:
        return runtime.desk.survey_by_token(token, now=runtime.clock())

    try:
        view = await sync_to_thread(limited, runtime, token, client_address(request), lookup)
    except TooManySurveyAttempts as exc:
        return _throttled(request, exc)
    return _survey_page(request, token, view, thanks=answered == 1)


def _answer_of(fields: dict[str, str]) -> SurveyAnswer:
    raw: dict[str, Any] = {"comment": fields.get("comment", "").strip() or None}
    score = fields.get("score", "")
    raw["score"] = int(score) if score.isdigit() else None
    try:
        return msgspec.convert(raw, SurveyAnswer)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rpartition(" - at `")[2].rstrip("`") if " - at `" in text else "$.score"
        raise InvalidField(path, text.partition(" - at `")[0]) from exc


@post("/survey/{token:str}", opt=PUBLIC, status_code=200)
async def survey_answer(request: Request[Any, Any, Any], token: SurveyToken) -> Response[Any]:
    """Record the answer once; a second answer is refused (410) with the page saying why."""
    runtime = runtime_of(request)
    fields = await form_fields(request)

    def answer() -> None:
        def record() -> None:
            runtime.desk.answer_survey(token, _answer_of(fields), now=runtime.clock())

        limited(runtime, token, client_address(request), record)

    def view() -> SurveyView:
        return runtime.desk.survey_by_token(token, now=runtime.clock())

    try:
        await sync_to_thread(answer)
    except TooManySurveyAttempts as exc:
        return _throttled(request, exc)
    except SurveyClosed:
        return _survey_page(request, token, await sync_to_thread(view), status=410)
    except InvalidField as exc:
        shown = await sync_to_thread(view)
        return _survey_page(request, token, shown, status=422, error=exc.detail, form=fields)
    except ClientError:
        raise
    return Redirect(f"/survey/{token}?answered=1", status_code=303)


SURVEY_ROUTES = [survey_page, survey_answer]
