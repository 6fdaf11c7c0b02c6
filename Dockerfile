# pingpong: nginx + FastCGI workers in one image. Public API on 8080 (/ping),
# probes and metrics on 8081 (/healthz, /readyz, /metrics). See docs/DEPLOY.md.
#   docker build -t pingpong . && docker run -p 8080:8080 pingpong
# Limits come from PINGPONG_<KEY> variables (pingpong.conf(5)); the LMDB store
# is the volume /var/lib/pingpong. Nothing runs as root.
# The package stages come first so their layers stay cached while the
# sources change.

FROM debian:bookworm-slim AS build-deps
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential autoconf automake pkg-config \
      libfcgi-dev liblmdb-dev libjansson-dev libcurl4-openssl-dev libsodium-dev libhiredis-dev check \
 && rm -rf /var/lib/apt/lists/*

FROM debian:bookworm-slim AS runtime-deps
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      nginx spawn-fcgi multiwatch curl \
      libfcgi0ldbl liblmdb0 libjansson4 libcurl4 libsodium23 libhiredis0.14 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --user-group --home-dir /var/lib/pingpong \
      --no-create-home --shell /usr/sbin/nologin pingpong \
 && install -d -o pingpong -g pingpong -m 0700 /var/lib/pingpong \
 && install -d -o pingpong -g pingpong -m 0755 /run/pingpong

FROM build-deps AS build
WORKDIR /src
COPY . .
RUN autoreconf -fi \
 && ./configure --prefix=/usr --sysconfdir=/etc --localstatedir=/var \
 && make -j"$(nproc)" \
 && make install DESTDIR=/staging

FROM runtime-deps
COPY --from=build /staging/ /
COPY conf/nginx/pingpong.conf /usr/share/pingpong/nginx-site.conf
COPY conf/container/nginx.conf /etc/pingpong/nginx.conf
COPY conf/container/entrypoint /usr/bin/pingpong-entrypoint

ENV HTTP_PORT=8080 OPS_PORT=8081 WORKERS=4
VOLUME /var/lib/pingpong
EXPOSE 8080 8081
USER 10001:10001
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
  CMD curl -fsS -o /dev/null "http://127.0.0.1:${OPS_PORT}/readyz" || exit 1
ENTRYPOINT ["/usr/bin/pingpong-entrypoint"]
