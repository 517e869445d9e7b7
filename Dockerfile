# Airflow 3 image with this provider installed (used by docker-compose.yml).
ARG AIRFLOW_IMAGE=apache/airflow:3.1.3-python3.11
FROM ${AIRFLOW_IMAGE}
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends unixodbc \
    && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root pyproject.toml README.md /opt/elasticjobs/
COPY --chown=airflow:root airflow_elasticjobs /opt/elasticjobs/airflow_elasticjobs
RUN pip install --no-cache-dir "/opt/elasticjobs"
