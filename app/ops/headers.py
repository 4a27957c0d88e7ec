"""Security headers on every response; pages reached by a secret link are never cached and
never leak their URL through the Referer header."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

_ALWAYS = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
# Our pages use no inline scripts and only our own stylesheet.
_PAGE_CSP = (b"content-security-policy",
             b"default-src 'self'; img-src 'self' data:; form-action 'self'; "
             b"frame-ancestors 'none'; base-uri 'none'")
_SECRET_LINK_PREFIXES = ("/r/", "/v1/public/requests/")
# Swagger UI and ReDoc load their own assets; they keep the framework's defaults.
_DOCS = ("/docs", "/redoc")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                extra = [h for h in _ALWAYS if h[0] not in names]
                content_type = dict(headers).get(b"content-type", b"")
                if content_type.startswith(b"text/html") and not path.startswith(_DOCS):
                    extra.append(_PAGE_CSP)
                if path.startswith(_SECRET_LINK_PREFIXES):
                    extra.append((b"cache-control", b"no-store"))
                message["headers"] = headers + extra
            await send(message)

        await self.app(scope, receive, with_headers)
