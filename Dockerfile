# syntax=docker/dockerfile:1
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/whatalo-wazion ./cmd/whatalo-wazion

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/whatalo-wazion /whatalo-wazion
USER nonroot:nonroot
ENV LISTEN_ADDR=:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=3s --start-period=5s CMD ["/whatalo-wazion", "healthcheck"]
ENTRYPOINT ["/whatalo-wazion"]
CMD ["serve"]
