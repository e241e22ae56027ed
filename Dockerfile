# The image every cinder-lab service container runs (docker-compose.yml).
# The code lives in /app/src, installed editable, so a debugger maps /app to the
# checkout (.vscode/launch.json) and docker-compose.debug.yml can mount ./src over it.
# PYTHON_IMAGE: python:3.11-slim, or its local stand-in from `make images-local`
# (cinder-lab-local/python:local) where Docker Hub is out of reach.
ARG PYTHON_IMAGE=python:3.11-slim
FROM ${PYTHON_IMAGE}

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so an edit under src/ or etc/
# reinstalls only the lab itself (seconds), not its dependencies (a minute).
# README.md* matches nothing until the README exists; pyproject names it.
COPY pyproject.toml README.md* ./
# debug: debugpy for DEBUGPY=1; tracing-http: oslo.messaging's OTLP exporter for jaeger.
RUN python -c "import tomllib; p = tomllib.load(open('pyproject.toml', 'rb'))['project']; \
print('\n'.join(p['dependencies'] + p['optional-dependencies']['debug']))" >/tmp/requirements.txt \
    && pip install -r /tmp/requirements.txt "oslo.messaging[tracing-http]" \
    && pip install "setuptools>=70.1" wheel
COPY src ./src
RUN pip install --no-deps --no-build-isolation -e ".[debug]"

COPY etc ./etc

ENTRYPOINT ["/app/etc/compose/entrypoint.sh"]
CMD ["cinder-lab", "--help"]
