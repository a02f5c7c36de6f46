# bitunix-bot: a two-stage build. The first stage compiles the native core into a wheel;
# the runtime image carries only the wheel and the locked runtime dependencies
# (requirements/lock-run.txt, hash-checked), so an image is as reproducible as `make run`.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml CMakeLists.txt README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bot
COPY requirements/lock-run.txt /tmp/lock-run.txt
RUN pip install --no-cache-dir --require-hashes -r /tmp/lock-run.txt && rm /tmp/lock-run.txt
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-deps /wheels/*.whl && pip check && rm -rf /wheels
USER bot
WORKDIR /home/bot
# Paper trading on the built-in simulator with the bundled data by default; live trading
# needs dry_run = false in the config *and* FORCE_LIVE_TRADING=true in the environment.
ENTRYPOINT ["bitunix-bot"]
CMD ["run"]
