# The image every cinder-lab service container runs (docker-compose.yml).
# The code lives in /app/src, installed editable, so a debugger maps /app to the
# checkout (.vscode/launch.json) and docker-compose.debug.yml can mount ./src over it.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, so an edit under etc/ does not reinstall them.
# README.md* matches nothing until the README exists; pyproject names it.
COPY pyproject.toml README.md* ./
COPY src ./src
# debug: debugpy for DEBUGPY=1; tracing-http: oslo.messaging's OTLP exporter for jaeger.
RUN pip install -e ".[debug]" "oslo.messaging[tracing-http]"

COPY etc ./etc

ENTRYPOINT ["/app/etc/compose/entrypoint.sh"]
CMD ["cinder-lab", "--help"]
