"""The admin password: from ``st.secrets`` or the settings, compared in constant time."""

from __future__ import annotations

import hmac


def configured_password(secrets: object, settings: object) -> str:
    """The admin password, or '' when none is configured (then the admin page refuses).
    There is no default; a password of only spaces counts as none."""
    try:
        from_secrets = secrets.get("admin_password", "")  # type: ignore[attr-defined]
    except Exception:  # no secrets.toml at all is the normal case
        from_secrets = ""
    password = str(from_secrets or settings.discern_admin_password or "")
    return password if password.strip() else ""


def password_matches(given: str, expected: str) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))
