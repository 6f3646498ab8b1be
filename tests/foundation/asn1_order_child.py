"""Run `package` then `render` in one fresh process, as a worker's pool child would.

Usage: python asn1_order_child.py PACKAGE_REQUEST_ID RENDER_REQUEST_ID (settings from env).
"""

from __future__ import annotations

import sys

from gateway.config import load_settings
from workers.celery_app import configure

configure(load_settings())  # what `python -m workers` does before the pool starts

from workers import tasks  # noqa: E402

print(tasks.package(sys.argv[1]))
print(tasks.render(sys.argv[2]))
