"""The Litestar application: routes, middleware, templates, errors, OpenAPI."""

from __future__ import annotations

import hashlib
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Litestar, get
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.middleware.session.client_side import CookieBackendConfig
from litestar.openapi.config import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from web.api.author import author_api
from web.api.author_credentials import author_credentials_api
from web.api.author_integrity import author_integrity_api
from web.api.author_lti import author_lti_api
from web.api.author_org import author_org_api
from web.api.credentials import credential_api
from web.api.learner import learner_api
from web.credentials.awards import issuer_of
from web.db.connection import Database
from web.db.migrate import migrate
from web.logs import install as install_log_redaction
from web.pages.author import author_router
from web.pages.author_credentials import author_credentials_router
from web.pages.author_integrity import author_integrity_router
from web.pages.author_lti import author_lti_router
from web.pages.author_org import author_org_router, invitation_router
from web.pages.credentials import credential_pages
from web.pages.did_control import did_router
from web.pages.learner import learner_router
from web.pages.learner_links import learner_links_router
from web.pages.lti import lti_router
from web.pages.media import media_router
from web.problems import handle
from web.runtime import Runtime
from web.security import add_security_headers, require_json_body
from web.settings import Settings, load_settings
from web.webhooks.worker import DeliveryWorker
from web.wording import probability_text, score_se_text, score_text, stop_clause

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"
DEFAULT_BODY_LIMIT = 1024 * 1024


@get("/favicon.ico", include_in_schema=False, cache_control=CacheControlHeader(max_age=86400))
async def favicon() -> Redirect:
    """Programs that ask for /favicon.ico get the bundled icon (pages link it themselves)."""
    return Redirect(path="/static/favicon.svg", status_code=301)


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["signed"] = lambda x: f"{x:+.2f}"
    env.filters["fixed2"] = lambda x: f"{x:.2f}"
    env.filters["percent"] = lambda x: f"{100 * x:.0f}%"
    env.filters["probability"] = probability_text
    env.filters["score"] = score_text
    env.filters["points"] = score_se_text
    env.filters["stop_clause"] = stop_clause
    return env


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the application; the database is opened and migrated at start-up."""
    settings = settings or load_settings()
    install_log_redaction()
    cookie_key = hashlib.sha256(("session:" + settings.secret_key).encode()).digest()

    def on_startup(app: Litestar) -> None:
        db = Database(settings.database_url)
        migrate(db)
        runtime = Runtime(settings, db)
        app.state.runtime = runtime
        issuer_of(runtime).keys.ensure()  # signing keys are created on first start
        if settings.webhook_worker == "inprocess":
            worker = DeliveryWorker(db, settings)
            runtime.services["webhook_worker"] = worker
            worker.start()

    def on_shutdown(app: Litestar) -> None:
        runtime: Runtime | None = getattr(app.state, "runtime", None)
        if runtime is not None:
            worker = runtime.services.get("webhook_worker")
            if isinstance(worker, DeliveryWorker):
                worker.stop()
            runtime.db.dispose()

    engine = JinjaTemplateEngine.from_environment(_environment())
    return Litestar(
        route_handlers=[
            learner_router,
            learner_links_router,
            media_router,
            did_router,
            author_router,
            learner_api,
            author_api,
            credential_api,
            credential_pages,
            author_credentials_router,
            author_lti_router,
            author_integrity_router,
            author_credentials_api,
            author_integrity_api,
            author_org_api,
            author_org_router,
            invitation_router,
            author_lti_api,
            lti_router,
            create_static_files_router(path="/static", directories=[STATIC], name="static"),
            favicon,
        ],
        on_startup=[on_startup],
        on_shutdown=[on_shutdown],
        state=State({}),
        before_send=[add_security_headers],
        guards=[require_json_body],
        middleware=[
            CookieBackendConfig(
                secret=cookie_key,
                key="skillgauge_author",
                max_age=8 * 3600,
                httponly=True,
                secure=settings.secure_cookies,
                samesite="lax",
                exclude=["/api/", "/static/", "/schema"],  # only author pages use it
            ).middleware,
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="skillgauge_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_samesite="lax",
            exclude=["/api/", "/lti/"],  # LTI: the platform posts; state and JWTs protect
        ),
        template_config=TemplateConfig(instance=engine),
        exception_handlers={Exception: handle},
        openapi_config=OpenAPIConfig(
            title="Skillgauge API",
            version="1",
            path="/schema",
            render_plugins=[JsonRenderPlugin(path=["/", "/openapi.json"])],
        ),
        request_max_body_size=DEFAULT_BODY_LIMIT,
        debug=False,
    )
