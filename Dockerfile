# bitunix-bot: a two-stage build. The first stage compiles the native core into a wheel;
# the runtime image carries only the wheel and its dependencies.
FROM python:3.11-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml CMakeLists.txt README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --create-home --uid 10001 bot
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER bot
WORKDIR /home/bot
# Paper mode against the bundled data by default; live trading needs dry_run = false in the
# config *and* FORCE_LIVE_TRADING=true in the environment.
ENTRYPOINT ["bitunix-bot"]
CMD ["run"]
