# bitunix-bot: a two-stage build. The first stage compiles the native core into a wheel
# with the C toolchain; the runtime image carries only the wheel and the locked runtime
# dependencies (requirements/lock-run.txt, hash-checked), so an image is as reproducible
# as `make run`. Never built on the development machines (no Docker engine there);
# `make lint` checks this file with hadolint. See deploy/README.md.
#
# The base image is pinned to a patch release on a named Debian release; pin it further by
# digest (python:3.11.11-slim-bookworm@sha256:...) where images are promoted by digest.
ARG PYTHON_IMAGE=python:3.11.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
# The compiler is needed only here; the runtime stage never sees it (see .hadolint.yaml
# for why these packages are not pinned to a Debian version).
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml CMakeLists.txt README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM ${PYTHON_IMAGE}
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
# A fixed numeric uid/gid, so files on a mounted volume belong to a known owner.
RUN groupadd --system --gid 10001 bot \
 && useradd --system --uid 10001 --gid 10001 --create-home --home-dir /home/bot bot \
 && mkdir -p /var/lib/bitunix-bot \
 && chown 10001:10001 /var/lib/bitunix-bot
COPY requirements/lock-run.txt /tmp/lock-run.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/lock-run.txt && rm /tmp/lock-run.txt
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && pip check && rm -rf /wheels
USER 10001:10001
# The store (bitunix-state.sqlite, or bitunix-paper.sqlite for a paper run) and any
# relative paths of the config live in the working directory: mount a volume here.
WORKDIR /var/lib/bitunix-bot
VOLUME ["/var/lib/bitunix-bot"]
# The bot's /healthz ([http] section, 127.0.0.1:8787 by default; inside the container, so
# the loopback default is enough). No curl in a slim image: Python's urllib does it, and a
# refused connection or a non-2xx answer exits non-zero.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8787/healthz', timeout=4)"]
# Docker stops a container with SIGTERM, then SIGKILL after `docker stop -t` seconds
# (default 10): give the flatten on exit time with `docker stop -t 60` or stop_grace_period.
STOPSIGNAL SIGTERM
# Paper trading on the built-in simulator with the bundled data by default; live trading
# needs venue.kind = "bitunix", dry_run = false in the config *and* FORCE_LIVE_TRADING=true
# in the environment.
ENTRYPOINT ["bitunix-bot"]
CMD ["run"]
