# chatkiosk: one image for every worker and host. Build: docker build -t chatkiosk .
# With the bundled local model (compiles llama.cpp, ~7 min): --build-arg LOCAL_MODEL=1
FROM python:3.11-slim-bookworm

ARG LOCAL_MODEL=0
RUN apt-get update \
 && if [ "$LOCAL_MODEL" = 1 ]; then apt-get install -y --no-install-recommends build-essential cmake; fi \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY pyproject.toml README.md ./
COPY chatkiosk ./chatkiosk
COPY deploy/install.sh ./deploy/install.sh
RUN sh deploy/install.sh /opt/chatkiosk $([ "$LOCAL_MODEL" = 1 ] && echo --local-model) \
 && useradd --system --create-home --uid 10001 chatkiosk \
 && mkdir -p /data && chown chatkiosk /data

USER chatkiosk
ENV CHATKIOSK_DATA_DIR=/data \
    CHATKIOSK_LOG_JSON=true \
    PATH=/opt/chatkiosk/bin:$PATH
VOLUME /data
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/health').status != 200)"
# Migrations run once per deployment (compose's `migrate` service); each container then serves.
CMD ["chatkiosk", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
