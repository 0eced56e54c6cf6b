# faultline's container image (the one deploy/kubernetes/ runs): one `faultline` binary, entry
# point `faultline`, non-root user 10001. Multi-stage, Debian 12 on both sides.
#   docker build -t faultline:latest .
# The build stage installs its packages with scripts/install-deps (the same list CI and
# developers use); the runtime stage has only the shared libraries the binary links against.
# tests/deploy/dockerfile_test.cpp checks both against this machine's Debian 12 packages and
# the binary's `ldd`.

FROM debian:12 AS build
WORKDIR /src
COPY scripts/install-deps scripts/install-deps
RUN bash scripts/install-deps --build-only && rm -rf /var/lib/apt/lists/*
COPY . .
RUN rm -rf build \
 && cmake --preset release -DFAULTLINE_BUILD_TESTS=OFF -DFAULTLINE_BUILD_BENCH=OFF \
 && cmake --build build/release -j "$(nproc)" --target faultline \
 && install -D -m 0755 build/release/bin/faultline /out/faultline

FROM debian:12-slim
# Runtime libraries of the binary (hiredis, OpenSSL, spdlog, fmt, prometheus-cpp, libcurl, RE2) and
# the CA certificates for https targets and gateways.
RUN apt-get update \
 && apt-get install -y --no-install-recommends \
      libhiredis0.14 libssl3 libspdlog1.10 libfmt9 libprometheus-cpp-core1.0 libcurl4 zlib1g libre2-9 \
      ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /out/faultline /usr/local/bin/faultline
RUN groupadd --system --gid 10001 faultline \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin faultline
# Numeric, so that Kubernetes' runAsNonRoot can verify it without /etc/passwd.
USER 10001:10001
ENTRYPOINT ["faultline"]
CMD ["--help"]
