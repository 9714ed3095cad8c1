"""Container health check: exit 0 when Streamlit's ``/_stcore/health`` answers "ok".

Used by the Dockerfile's HEALTHCHECK and by both compose files, so the image needs no
curl. The port is Streamlit's own setting (STREAMLIT_SERVER_PORT, 8501 by default).
Standard library only: it runs every interval, and importing Discern would cost seconds.
"""

from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request


def main() -> int:
    port = os.environ.get("STREAMLIT_SERVER_PORT", "8501")
    url = f"http://127.0.0.1:{port}/_stcore/health"
    try:
        with urllib.request.urlopen(url, timeout=4) as response:
            body = response.read().decode("utf-8", "replace").strip()
    except (OSError, urllib.error.URLError) as exc:
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    if body != "ok":
        print(f"unhealthy: {url} answered {body!r}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
