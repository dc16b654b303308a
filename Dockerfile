# smsgrid as a container image.
#
# NOT BUILT HERE: the development machines and CI of this project have no Docker daemon and reach no registry but
# PyPI/Debian/npm, so this file is written to be built wherever Docker runs (`docker build -t smsgrid .`) and is
# not exercised by `make test`. See docs/deploy.md and compose.yaml.
#
# One image, three roles: `smsgrid serve` (the default: SQLite in the /data volume, everything in one process),
# `smsgrid serve --no-dispatch --db postgresql://…` (API only) and `smsgrid worker --db postgresql://…`.

FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --home-dir /data --create-home smsgrid
COPY --from=build /install /usr/local
USER smsgrid
WORKDIR /data
# SMSGRID_DATA_DIR: database (SQLite mode), TLS certificate, dead-letter files. Set SMSGRID_ACCESS_KEY in
# production: without it the well-known development key is used (docs/configuration.md).
ENV SMSGRID_DATA_DIR=/data \
    PYTHONUNBUFFERED=1
VOLUME ["/data"]
EXPOSE 8080 8443
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=2)"]
ENTRYPOINT ["smsgrid"]
# 0.0.0.0: reachable through the published ports; JSON logs, one object per line, for the container runtime.
CMD ["serve", "--host", "0.0.0.0", "--log-format", "json"]
