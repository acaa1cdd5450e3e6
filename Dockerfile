# The bot as a slim image running as an unprivileged user. Build: docker build -t zoom-booking-bot .
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot bot
COPY handlers handlers
COPY storage storage
COPY sandbox sandbox
RUN python -m venv /venv && /venv/bin/pip install --no-cache-dir .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --user-group --home-dir /app --create-home bot
COPY --from=build /venv /venv
WORKDIR /app
USER bot
ENV PATH=/venv/bin:$PATH PYTHONUNBUFFERED=1 WEB_HOST=0.0.0.0 WEB_PORT=8080 LOG_FORMAT=json
EXPOSE 8080
# Healthy only while ready: the database answers, the schema is current and the job worker runs.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import os, sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:%s/readyz' % os.environ.get('WEB_PORT', '8080'), timeout=4).status != 200)"]
# `python -m bot migrate` runs the migrations alone (the compose file's one-shot service).
CMD ["python", "-m", "bot"]
