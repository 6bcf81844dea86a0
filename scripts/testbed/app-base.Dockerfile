# Stand-in for python:3.11-slim where no registry answers: Debian bookworm's python3 is 3.11.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
# Debian's mirror is plain HTTP with signed indexes, so no CA bundle is needed here.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      python3 python3-venv python3-pip python-is-python3 ca-certificates \
 && rm -rf /var/lib/apt/lists/*
CMD ["python3"]
