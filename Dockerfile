# One image for every role of the data space; the command chooses the role (see compose/compose.yaml):
#   gxc connector serve | gxc catalog serve | gxc trust serve
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /opt/gxc

# Exact, hash-checked dependency versions first (a layer that survives code changes).
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock

COPY pyproject.toml README.md ./
COPY connector ./connector
COPY self_descriptions ./self_descriptions
COPY policies ./policies
COPY catalog ./catalog
RUN pip install --no-cache-dir --no-deps --no-build-isolation . 2>/dev/null \
 || pip install --no-cache-dir --no-deps .

RUN useradd --create-home --uid 10001 gxc && mkdir -p /state && chown gxc /state
USER gxc
VOLUME ["/state"]
ENTRYPOINT ["gxc"]
CMD ["--help"]
