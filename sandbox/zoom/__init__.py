"""A faithful emulator of Zoom: OAuth, the meetings REST API, rate limits, webhooks and fault switches.

`ZoomSandbox` builds the ASGI app; `ZoomControl` steers it and reads what happened, over HTTP.
"""

from sandbox.zoom.app import ZoomSandbox
from sandbox.zoom.control_client import ZoomControl

__all__ = ["ZoomControl", "ZoomSandbox"]
