"""Security headers on every response; pages reached by a secret link are never cached and
never leak their URL through the Referer header (`Referrer-Policy: no-referrer` everywhere,
and the same in each page's `<meta name="referrer">`)."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"accelerometer=(), camera=(), geolocation=(), gyroscope=(), "
                            b"magnetometer=(), microphone=(), payment=(), usb=(), "
                            b"interest-cohort=()"),
]
# Where the Swagger UI and ReDoc bundles come from (app/web/docs.py), until served offline.
DOCS_ASSET_ORIGIN = "https://cdn.jsdelivr.net"
# No inline script or style anywhere: scripts and stylesheets come from /static only.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# The API reference pages also load the Swagger UI / ReDoc bundles from their CDN (and ReDoc
# runs its search in a blob: worker); still no inline script or style (see app/web/docs.py).
DOCS_CSP = (f"default-src 'self'; script-src 'self' {DOCS_ASSET_ORIGIN}; "
            f"style-src 'self' {DOCS_ASSET_ORIGIN}; img-src 'self' data:; worker-src 'self' blob:; "
            "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_SECRET_LINK_PREFIXES = ("/r/", "/s/", "/a/", "/v1/public/requests/")
_DOCS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = (b"content-security-policy",
               (DOCS_CSP if path in _DOCS else PAGE_CSP).encode())

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [h for h in _ALWAYS if h[0] not in names]
                # On every answer, not only pages: a JSON or SVG body opened in a browser
                # cannot run script either.
                if b"content-security-policy" not in names:
                    extra.append(csp)
                if path.startswith(_SECRET_LINK_PREFIXES):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, with_headers)
