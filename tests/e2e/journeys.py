"""Moved to `tests.support.journeys`; kept so older imports keep working."""

from tests.support.journeys import (  # noqa: F401
    JOIN,
    Shop,
    confirm,
    connect_zoom,
    create_service,
    has_join,
    join_url,
    offered_date,
    order,
    order_number,
    order_on_day,
    person,
    reach_summary,
    share_code,
)
