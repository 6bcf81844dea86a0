# Jaeger v2 all-in-one built from the Go module proxy, shaped like the upstream
# jaegertracing/jaeger image: listens on all interfaces, in-memory storage, uid 10001.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
COPY jaeger /cmd/jaeger/jaeger-linux
ENV JAEGER_LISTEN_HOST=0.0.0.0
EXPOSE 4317 4318 16685 16686 13133
USER 10001
ENTRYPOINT ["/cmd/jaeger/jaeger-linux"]
