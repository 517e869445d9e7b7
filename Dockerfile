# Airflow 3 image with this provider installed (used by docker-compose.yml).
# The Airflow version the test suite runs (pyproject.toml resolves apache-airflow 3.3.x).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}
USER root
RUN apt-get update \
    && apt-get install -y --no-install-recommends unixodbc \
    && rm -rf /var/lib/apt/lists/*
USER airflow
COPY --chown=airflow:root pyproject.toml README.md /opt/elasticjobs/
COPY --chown=airflow:root airflow_elasticjobs /opt/elasticjobs/airflow_elasticjobs
COPY --chown=airflow:root emulator /opt/elasticjobs/emulator
# The emulator distribution (not on PyPI) in the same pip command, so the provider's [emulator] pin
# resolves to it: the emulator service runs from this image, and the example DAGs use its
# elastic_jobs_emulator_sql connection type.
RUN pip install --no-cache-dir "/opt/elasticjobs/emulator" "/opt/elasticjobs[emulator]"
# SimpleAuthManager generates a random password for every user missing from this file (printed only
# in the api-server log); seed the local demo login the README documents: admin / admin.
RUN echo '{"admin": "admin"}' > /opt/airflow/simple_auth_manager_passwords.json
