# Jethro: one image, one process (`jethro run`) on the embedded defaults; point DATABASE_URL at
# PostgreSQL to run several replicas.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite:////var/lib/jethro/jethro.db

RUN useradd --create-home --uid 10001 jethro \
    && mkdir -p /var/lib/jethro \
    && chown jethro:jethro /var/lib/jethro

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY escalation ./escalation
RUN pip install ".[postgres]"

USER jethro
VOLUME ["/var/lib/jethro"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"
ENTRYPOINT ["jethro"]
CMD ["run", "--http"]
