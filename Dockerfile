# syntax=docker/dockerfile:1
#
# Putokaz: one static binary on a distroless base (no shell, no package
# manager, runs as an unprivileged user).
#
#   docker build -t putokaz .
#   docker run --rm -p 8080:8080 putokaz          # the playground: no token, in-memory store
#   docker compose up -d                          # the bot with Redis (docker-compose.yml)
#
# The default content (flows/, locales/) is embedded in the binary. To serve
# other content, mount a folder holding flows/ and locales/ and set
# CONTENT_DIR to it; edits there are reloaded without a restart.

# ---- build ------------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src
# Modules first, so this layer stays cached until go.mod or go.sum change.
COPY go.mod go.sum ./
RUN go mod download
COPY . .
# CGO off: a fully static binary that needs no libc (distroless/static has
# none). -trimpath keeps build paths out of the binary; -s -w drops the
# symbol tables (a smaller image; panics still print Go stack traces).
# No -tags loadtest: the load tool and its fake Bot API stay out of the image
# (`putokaz loadtest` there says how to build it).
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/putokaz .

# ---- run --------------------------------------------------------------------
# distroless/static ships CA certificates (HTTPS to the Bot API) and tzdata
# (services' working hours are in Europe/Belgrade), and nothing else.
FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/putokaz /putokaz
# config.yaml is read from the working directory when present: mount one at
# /app/config.yaml, or (simpler, and the only place for secrets) use the
# environment variables listed by `putokaz config`.
WORKDIR /app
# nonroot is uid/gid 65532 in distroless; never run the bot as root.
USER nonroot:nonroot
# LISTEN_ADDR (default :8080): the Telegram webhook, the playground,
# /healthz, /readyz and /metrics.
EXPOSE 8080
# No HEALTHCHECK: an exec-form check needs no shell, but this image has no
# program that could make the HTTP request (no curl, no wget, no shell to
# script one), and adding one would undo the point of distroless. Let the
# orchestrator probe the bot instead, on port 8080 in Telegram mode:
# GET /healthz (liveness: the process answers) and GET /readyz (readiness:
# Redis and the Bot API reachable) — Kubernetes httpGet probes, a load
# balancer's health check, or a monitoring check of the compose host.
ENTRYPOINT ["/putokaz"]
CMD ["serve"]
