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
# No inline script or style anywhere: scripts and stylesheets come from /static only.
PAGE_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
# ReDoc (app/web/docs.py) is served by the app too, but needs two allowances, on that page
# only: it runs its search in a `blob:` worker, and its styled-components write <style>
# elements at run time (styles only; scripts stay 'self'). Swagger UI on /docs needs neither.
REDOC_CSP = ("default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
             "img-src 'self' data:; worker-src 'self' blob:; "
             "object-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_SECRET_LINK_PREFIXES = ("/r/", "/s/", "/a/", "/v1/public/requests/")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = (b"content-security-policy",
               (REDOC_CSP if path == "/redoc" else PAGE_CSP).encode())

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
