# The course's Jaeger sits behind a university login (OIDC); this stands in for that front end:
# Debian's nginx answering like oauth2-proxy (see gate-nginx.conf), configured from its environment
# at start (gate-entrypoint.sh). scripts/testbed_lib/gate.py runs it in front of the test Jaeger.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx openssl \
 && rm -rf /var/lib/apt/lists/* /etc/nginx/sites-enabled/default
COPY gate-nginx.conf /etc/nginx/gate.conf.template
COPY gate-entrypoint.sh /usr/local/sbin/gate-entrypoint
RUN chmod 0644 /etc/nginx/gate.conf.template && chmod 0755 /usr/local/sbin/gate-entrypoint
EXPOSE 80 443
STOPSIGNAL SIGQUIT
ENTRYPOINT ["/usr/local/sbin/gate-entrypoint"]
