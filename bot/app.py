"""The composition root: builds every long-lived object once, wires them, and runs them together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from starlette.applications import Starlette
from telegram import LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.ext import Application, ApplicationBuilder, Defaults

from bot.allocator import settle_start_up
from bot.crypto import TokenCipher, load_or_create_key_file, split_keys
from bot.domain import utcnow
from bot.health import Readiness, Scrape
from bot.jobs.outbox import CARDS, SEND, Outbox
from bot.jobs.run_locks import RunLocks
from bot.jobs.wakeup import JobWakeup
from bot.jobs.worker import Lane, Worker
from bot.metrics import Metrics
from bot.migrate import migrate_in_child
from bot.services.availability import Availability
from bot.services.calendars import Calendars
from bot.services.client_orders import ClientOrders
from bot.services.drafts import Drafts
from bot.services.meetings import SYNC, MeetingSync
from bot.services.ordering import Ordering
from bot.services.orders import EditLimit, Orders
from bot.services.persons import Persons
from bot.services.recovery import Recovery
from bot.services.reminders import REMINDER, Reminders
from bot.services.retention import PURGE, PURGE_KEY, Keep, Retention
from bot.services.service_settings import ServiceSettings
from bot.services.services import Services
from bot.services.zoom_connections import ZoomConnections
from bot.services.zoom_events import EVENT, ZoomEvents
from bot.settings import Settings, SettingsError
from bot.telegram import menus
from bot.telegram.chat_turns import ChatTurns
from bot.telegram.delivery import Delivery
from bot.telegram.intake import UpdateIntake
from bot.telegram.limits import ChatRateLimiter
from bot.telegram.requests import CountedRequest
from bot.web import create_web_app
from bot.zoom.client import ZoomClient
from bot.zoom.oauth import ZoomOAuth
from bot.zoom.transport import KeptAliveTransport
from handlers.deps import KEY, Deps
from handlers.router import CUSTOMER_COMMANDS, OWNER_COMMANDS, register
from storage import repos
from storage.db import create_engine, create_lock_engine, create_sessionmaker, is_sqlite, schema_is_current

log = logging.getLogger(__name__)


class WebServer(uvicorn.Server):
    """uvicorn without its own signal handling: `serve` stops it, then cleans up everything else."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@dataclass
class Runtime:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    http: httpx.AsyncClient
    application: Application  # type: ignore[type-arg]
    web: Starlette
    worker: Worker
    intake: UpdateIntake
    connections: ZoomConnections
    metrics: Metrics | None = None
    wakeup: JobWakeup | None = None  # PostgreSQL: LISTEN for jobs queued by other replicas
    lock_engine: AsyncEngine | None = None  # PostgreSQL: connections holding per-chat turns
    web_server: uvicorn.Server | None = None  # while `serve` runs

    def request_stop(self) -> None:
        """Stop `serve` as SIGTERM does (call it on the bot's event loop)."""
        if self.web_server is not None:
            self.web_server.should_exit = True


def keep_for(settings: Settings) -> Keep:
    return Keep(
        finished=timedelta(days=settings.retention_days),
        updates=timedelta(hours=settings.processed_updates_hours),
        edits=timedelta(seconds=settings.customer_edits_window_seconds),
        interval=timedelta(seconds=settings.purge_interval_seconds),
    )


def cipher_for(settings: Settings) -> TokenCipher:
    """The configured keys; on the embedded SQLite default without one, a generated key file."""
    if settings.encryption_key is not None and settings.encryption_key.get_secret_value().strip():
        return TokenCipher(split_keys(settings.encryption_key.get_secret_value()))
    url = make_url(settings.database_url)
    if url.get_backend_name() != "sqlite":
        raise SettingsError(
            "ENCRYPTION_KEY: is required with PostgreSQL (generate one: python -m bot genkey)"
        )
    folder = Path(url.database).parent if url.database and url.database != ":memory:" else Path("data")
    return TokenCipher([load_or_create_key_file(folder / "secret.key")])


def build_application(
    settings: Settings, metrics: Metrics | None = None, tls: ssl.SSLContext | None = None
) -> Application:  # type: ignore[type-arg]
    token = settings.telegram_bot_token.get_secret_value()
    builder = ApplicationBuilder()
    timeout = settings.telegram_timeout_seconds
    read = settings.telegram_read_timeout_seconds  # an answer may come late: waiting beats sending twice
    if metrics is not None:
        # Beyond its connections a request waits for one to be free, at most as long as for an answer.
        builder = builder.request(
            CountedRequest(
                metrics,
                read_timeout=read,
                pool_timeout=read,
                connect_timeout=timeout,
                write_timeout=timeout,
                tls=tls,
            )
        )
        builder = builder.get_updates_request(
            CountedRequest(
                metrics,
                connection_pool_size=1,
                read_timeout=timeout,
                connect_timeout=timeout,
                write_timeout=timeout,
                tls=tls,
            )
        )
    else:
        builder = builder.connect_timeout(timeout).read_timeout(read).write_timeout(timeout)
        builder = builder.get_updates_connect_timeout(timeout).get_updates_read_timeout(timeout)
        builder = builder.get_updates_write_timeout(timeout)
    limiter = ChatRateLimiter(
        overall_per_second=settings.telegram_overall_per_second,
        chat_burst=settings.telegram_chat_burst,
        chat_period=settings.telegram_chat_period_seconds,
    )
    return (
        builder.token(token)
        .base_url(f"{settings.telegram_api_url}/bot")
        .base_file_url(f"{settings.telegram_api_url}/file/bot")
        .updater(None)
        .rate_limiter(limiter)
        .defaults(
            Defaults(parse_mode=ParseMode.HTML, link_preview_options=LinkPreviewOptions(is_disabled=True))
        )
        .build()
    )


def bot_username(application: Application) -> str:  # type: ignore[type-arg]
    """The bot's @username once it has started (invite links need it), else empty."""
    try:
        return str(application.bot.username)
    except RuntimeError:
        return ""


def build(settings: Settings) -> Runtime:
    engine = create_engine(settings.database_url)
    sessions = create_sessionmaker(engine)
    zoom_timeout = httpx.Timeout(settings.zoom_timeout_seconds, connect=settings.zoom_connect_timeout_seconds)
    # One TLS context, with its CA store, for every HTTP client (each would load its own: 0.8 MiB apiece).
    tls = httpx.create_ssl_context()
    # Each Zoom job makes one call at a time; a few more for token refreshes and the OAuth pages' exchanges.
    transport = KeptAliveTransport(tls, connections=settings.zoom_jobs + 4)
    http = httpx.AsyncClient(timeout=zoom_timeout, follow_redirects=False, verify=tls, transport=transport)
    cipher = cipher_for(settings)
    metrics = Metrics()
    event.listen(engine.sync_engine, "before_cursor_execute", metrics.statement)
    application = build_application(settings, metrics, tls)
    outbox = Outbox(
        reminder_minute=timedelta(seconds=settings.reminder_minute_seconds),
        notice_interval=timedelta(seconds=settings.notice_interval_seconds),
        card_fallback=timedelta(seconds=settings.card_refresh_fallback_seconds),
        owner_settle=timedelta(seconds=settings.owner_card_settle_seconds),
    )
    oauth = None
    if settings.zoom_configured:
        oauth = ZoomOAuth(
            http,
            settings.zoom_oauth_url,
            settings.zoom_client_id,
            settings.zoom_client_secret.get_secret_value(),
            settings.oauth_redirect_uri,
            metrics=metrics,
        )
    zoom = ZoomClient(http, settings.zoom_api_url, metrics)
    connections = ZoomConnections(
        sessions,
        oauth,
        zoom,
        cipher,
        outbox,
        login_ttl=timedelta(seconds=settings.zoom_login_ttl_seconds),
        login_kept=timedelta(seconds=settings.zoom_login_kept_seconds),
        refresh_margin=timedelta(seconds=settings.zoom_refresh_margin_seconds),
        settings_max_age=timedelta(seconds=settings.zoom_settings_max_age_seconds),
    )
    persons = Persons(sessions, settings.default_timezone)
    drafts = Drafts(sessions)
    edit_limit = EditLimit(settings.customer_edits, timedelta(seconds=settings.customer_edits_window_seconds))
    orders = Orders(
        sessions,
        outbox,
        partial(bot_username, application),
        metrics=metrics,
        edit_limit=edit_limit,
        edit_settle=timedelta(seconds=settings.meeting_edit_settle_seconds),
    )
    calendars = Calendars(sessions, settings.public_url)
    recovery = Recovery(sessions, outbox)
    application.bot_data[KEY] = Deps(
        persons=persons,
        services=Services(sessions, persons, connections),
        ordering=Ordering(sessions, drafts, outbox, settings.customer_active_orders, metrics=metrics),
        availability=Availability(sessions, persons),
        settings=ServiceSettings(sessions),
        clients=ClientOrders(sessions, drafts, outbox, metrics=metrics),
        orders=orders,
        drafts=drafts,
        connections=connections,
        owner_commands=OWNER_COMMANDS,
        customer_commands=CUSTOMER_COMMANDS,
        calendars=calendars,
        recovery=recovery,
    )
    register(application)
    events = ZoomEvents(
        sessions, settings.zoom_webhook_secret_token.get_secret_value(), connections, outbox, zoom
    )
    limiter = application.bot.rate_limiter
    delivery = Delivery(
        sessions,
        application.bot,
        orders,
        connections,
        persons,
        owner_settle=timedelta(seconds=settings.owner_card_settle_seconds),
        limiter=limiter if isinstance(limiter, ChatRateLimiter) else None,
        hold=settings.telegram_chat_period_seconds,  # longer (a flood wait): the lane serves others
    )
    meetings = MeetingSync(
        sessions,
        zoom,
        connections,
        outbox,
        metrics=metrics,
        create_settle=timedelta(seconds=settings.zoom_create_settle_seconds),
    )
    reminders = Reminders(sessions, delivery)
    retention = Retention(sessions, keep_for(settings))

    lock_engine = None if is_sqlite(engine) else create_lock_engine(settings.database_url)
    if lock_engine is not None:
        event.listen(lock_engine.sync_engine, "before_cursor_execute", metrics.statement)
    worker = Worker(
        sessions,
        outbox,
        runners={
            SYNC: meetings.run,
            SEND: delivery.send,
            CARDS: delivery.cards,
            EVENT: events.run,
            REMINDER: reminders.run,
            PURGE: retention.run,
        },
        lanes=[
            Lane("zoom", (SYNC, EVENT), concurrency=settings.zoom_jobs, first=(SYNC,)),
            Lane(
                "telegram",
                (SEND, CARDS, REMINDER),
                concurrency=settings.telegram_delivery_chats,
                chat_ordered=(SEND, CARDS, REMINDER),
                first=(CARDS,),
            ),
            Lane("upkeep", (PURGE,), concurrency=1),
        ],
        poll_interval=settings.worker_poll_seconds,
        lease=timedelta(seconds=settings.job_lease_seconds),
        run_locks=RunLocks(lock_engine),
        backoff_base=settings.job_backoff_base_seconds,
        backoff_cap=settings.job_backoff_cap_seconds,
        max_attempts=settings.job_max_attempts,
        on_give_up=recovery.gave_up,
    )
    intake = UpdateIntake(
        application,
        sessions,
        ChatTurns(lock_engine),
        outbox,
        settings.intake_chat_backlog,
        chats=settings.intake_chats,
        poll_timeout=settings.telegram_poll_timeout_seconds,
        retry=(settings.telegram_poll_retry_seconds, settings.telegram_poll_retry_cap_seconds),
        conflict_wait=settings.telegram_conflict_wait_seconds,
        drain_seconds=settings.shutdown_drain_seconds,
        keep_processed=timedelta(hours=settings.processed_updates_hours),
    )
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else None
    check = settings.health_check_timeout_seconds
    readiness = Readiness(engine, worker, settings.ready_worker_seconds, check)
    web = create_web_app(
        engine,
        connections,
        events,
        intake,
        secret,
        persons,
        readiness=readiness,
        scrape=Scrape(metrics, sessions, check),
        calendars=calendars,
        read_timeout=settings.web_read_timeout_seconds,
    )
    wakeup = None if is_sqlite(engine) else JobWakeup(settings.database_url, outbox)
    return Runtime(
        settings,
        engine,
        sessions,
        http,
        application,
        web,
        worker,
        intake,
        connections,
        metrics=metrics,
        wakeup=wakeup,
        lock_engine=lock_engine,
    )


async def set_customer_menu(application: Application) -> None:  # type: ignore[type-arg]
    await menus.set_for_all(application.bot, CUSTOMER_COMMANDS)


async def refresh_idle_loop(runtime: Runtime, stopping: asyncio.Event) -> None:
    """Keep idle Zoom connections alive (ZOOM_IDLE_REFRESH_SECONDS, a week) and hosts' settings fresh
    (ZOOM_SETTINGS_MAX_AGE_SECONDS, a day); looked at every ZOOM_REFRESH_CHECK_SECONDS (an hour)."""
    settings = runtime.settings
    while not stopping.is_set():
        try:
            count = await runtime.connections.refresh_idle(
                timedelta(seconds=settings.zoom_idle_refresh_seconds)
            )
            if count:
                log.info("Refreshed %s idle Zoom connection(s)", count)
            read = await runtime.connections.refresh_settings()
            if read:
                log.info("Read the Zoom settings of %s host(s) again", read)
        except Exception:
            log.exception("Proactive Zoom refresh failed; will try again")
        try:
            await asyncio.wait_for(stopping.wait(), settings.zoom_refresh_check_seconds)
        except TimeoutError:
            continue


async def serve(runtime: Runtime) -> None:
    """Run the bot, the web server and the worker until SIGINT/SIGTERM."""
    settings = runtime.settings
    if not await schema_is_current(runtime.engine):  # Alembic runs in a child process, only when needed
        await migrate_in_child(settings.database_url, settings.log_level, settings.log_format)
    if is_sqlite(runtime.engine):
        async with runtime.sessions.begin() as session:
            await repos.release_leases(session)
    async with runtime.sessions.begin() as session:
        await repos.keep_job_planned(session, PURGE, PURGE_KEY, utcnow())
    application = runtime.application
    server = WebServer(
        uvicorn.Config(
            runtime.web,
            host=settings.web_host,
            port=settings.web_port,
            log_level="warning",
            lifespan="off",
            limit_concurrency=settings.web_max_connections,
        )
    )
    runtime.web_server = server
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    if threading.current_thread() is threading.main_thread():  # else whoever runs it calls request_stop
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, runtime.request_stop)
    async with application:
        await set_customer_menu(application)
        if settings.telegram_mode == "webhook":
            secret = (
                settings.telegram_webhook_secret.get_secret_value()
                if settings.telegram_webhook_secret
                else None
            )
            await application.bot.set_webhook(
                f"{settings.public_url}/telegram/webhook",
                secret_token=secret,
                allowed_updates=["message", "edited_message", "callback_query"],
            )
        else:
            await application.bot.delete_webhook()
        await application.start()
        tasks = [
            asyncio.create_task(runtime.worker.run(), name="worker"),
            asyncio.create_task(refresh_idle_loop(runtime, stopping)),
        ]
        if runtime.wakeup is not None:
            tasks.append(asyncio.create_task(runtime.wakeup.run(), name="job-wakeup"))
        if settings.telegram_mode == "polling":
            tasks.append(asyncio.create_task(runtime.intake.poll(), name="polling"))
        settle_start_up()
        log.info(
            "Bot @%s is running (%s) on %s's event loop; web server on %s:%s",
            application.bot.username,
            settings.telegram_mode,
            type(asyncio.get_running_loop()).__module__.partition(".")[0],
            settings.web_host,
            settings.web_port,
        )
        try:
            await server.serve()
        finally:
            stopping.set()
            runtime.worker.stop()
            runtime.intake.stop()
            if runtime.wakeup is not None:
                runtime.wakeup.stop()
            await asyncio.gather(*tasks, return_exceptions=True)
            await application.stop()
    await runtime.http.aclose()
    await runtime.engine.dispose()
    if runtime.lock_engine is not None:
        await runtime.lock_engine.dispose()
    log.info("Stopped")
