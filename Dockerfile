# Multi-stage build: compile with the same command CI uses, ship a small
# runtime image that runs as a non-root user.
FROM rust:1-slim-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates tzdata \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/vigie --create-home vigie
COPY --from=build /src/target/release/vigie /usr/local/bin/vigie
COPY watchlists /etc/vigie/watchlists
USER vigie
WORKDIR /var/lib/vigie
# The database and the .eml folder live on this volume.
VOLUME ["/var/lib/vigie"]
ENV VIGIE_DATABASE=sqlite:///var/lib/vigie/vigie.db \
    VIGIE_MAIL_DIR=/var/lib/vigie/mail \
    VIGIE_WATCHLISTS=/etc/vigie/watchlists
ENTRYPOINT ["vigie"]
CMD ["daemon"]
