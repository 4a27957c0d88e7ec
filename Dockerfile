# Rights Relay: API, pages and (by default) the in-process delivery worker.
# Production settings come from the environment: RR_SECRET_KEY and DATABASE_URL at least.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /srv

# Install dependencies first so code changes do not rebuild this layer.
COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip install . \
    && useradd --system --uid 10001 --no-create-home --home-dir /srv rr \
    && mkdir -p /srv/var \
    && chown rr /srv/var

USER rr

ENV RR_ENVIRONMENT=production \
    RR_HOST=0.0.0.0 \
    RR_PORT=8000 \
    RR_DATA_DIR=/srv/var

EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"

# Migrations first (replicas starting together take turns: an advisory lock on PostgreSQL), then serve.
# X-Forwarded-For is believed only from RR_TRUSTED_PROXIES (none unless set: e.g.
# -e RR_TRUSTED_PROXIES=10.0.0.0/8 for the load balancer's network); the app reads it, so
# uvicorn's own proxy-header handling is off.
CMD ["sh", "-c", "rights-relay migrate && exec uvicorn --factory app.main:create_served_app --host 0.0.0.0 --port 8000 --no-proxy-headers"]
