# Image for the `streams` worker and simulator (used by docker-compose.yml).
# Two stages: wheels are built where a compiler exists (in case a dependency has no
# wheel for this platform), and the runtime image gets only the installed result.
FROM python:3.11-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Copy only what the package needs: the checkout also holds .venv and .kafka (jars, data).
COPY pyproject.toml README.md ./
COPY src ./src
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir --no-index --find-links=/wheels streams \
    && rm -rf /wheels
RUN useradd --create-home --uid 10001 streams \
    && mkdir -p /app/.streams \
    && chown -R streams:streams /app
USER streams
WORKDIR /app
EXPOSE 9108
CMD ["streams", "--help"]
