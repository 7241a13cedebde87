# cloudnative.httpserver: the Tornado service, installed from wheels built on the host
# (scripts/build-wheels.sh), so the build needs no network. The default base is made locally by
# scripts/build-base-image.sh (Debian bookworm minbase + python3); any image with python3.11 works.
ARG BASE_IMAGE=cloudnative/python-base:bookworm

FROM ${BASE_IMAGE} AS venv
COPY build/wheels/ /wheels/
# pip runs from its own wheel, so the venv carries no pip; .pyc files are written now, because the
# root filesystem is read-only at run time.
RUN set -eu; \
    python3 -m venv --without-pip /opt/venv; \
    set -- /wheels/pip-*.whl; \
    /opt/venv/bin/python "$1/pip" install --no-cache-dir --no-index --find-links /wheels \
        --disable-pip-version-check --no-warn-script-location httpserver; \
    /opt/venv/bin/python -m compileall -q /opt/venv/lib; \
    /opt/venv/bin/httpserver --version

FROM ${BASE_IMAGE}
ENV PATH=/opt/venv/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
    PYTHONDONTWRITEBYTECODE=1 \
    LANG=C.UTF-8
COPY --from=venv /opt/venv /opt/venv
USER 10001:10001
EXPOSE 8080
STOPSIGNAL SIGTERM
ENTRYPOINT ["/opt/venv/bin/httpserver"]
CMD ["--config", "/etc/httpserver/config.yaml"]
