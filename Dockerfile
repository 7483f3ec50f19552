# syntax=docker/dockerfile:1
# sim in a container: built from the committed Cargo.lock in a Rust image, then only the binary
# (and the shipped scenarios, in the working directory) in a slim runtime image.
#   docker build -t sim .
#   docker run --rm -v "$PWD/results:/opt/sim/results" sim run scenarios/examples/support-agent.toml
# examples/ci/k8s-indexed-job.yaml runs a sharded sweep with it.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p sim

FROM debian:trixie-slim
COPY --from=build /src/target/release/sim /usr/local/bin/sim
WORKDIR /opt/sim
COPY scenarios scenarios
ENTRYPOINT ["sim"]
CMD ["--help"]
