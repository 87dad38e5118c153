# One image for every ProctorFlow process: `proctorflow worker`, `proctorflow web`, ...
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

# The pinned, hash-checked dependencies first (a layer rebuilt only when the lock changes); then
# ProctorFlow itself, without resolving anything again. `make lock` writes the lock.
COPY requirements-prod.lock ./
RUN pip install --require-hashes -r requirements-prod.lock

COPY pyproject.toml README.md ./
COPY workflows workflows
COPY activities activities
COPY models models
COPY starter starter
COPY store store
COPY web web
COPY proctorflow proctorflow
COPY cli cli
COPY proctorfree proctorfree
COPY worker.py ./
RUN pip install --no-deps . && useradd --system --uid 10001 proctorflow
USER proctorflow

ENTRYPOINT ["proctorflow"]
CMD ["web"]
