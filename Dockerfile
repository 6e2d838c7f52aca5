# syntax=docker/dockerfile:1
# Build: docker build -t sekisho .
# Run:   see docker-compose.yml and README "Deploy".

FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sekisho ./cmd/sekisho

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sekisho /sekisho
# A writable working directory, should a configuration use SQLite
# (data/sekisho.db is relative to it).
WORKDIR /home/nonroot
USER nonroot:nonroot
EXPOSE 8080
ENTRYPOINT ["/sekisho"]
CMD ["serve", "--config", "/etc/sekisho/config.yaml"]
