#!/usr/bin/env bash
# Opt-in integration test of garita's S3 blob store against a real S3-compatible server: Garage
# (https://garagehq.deuxfleurs.fr, AGPL, installed from crates.io as a separate program; none of its code is in
# garita). Not part of .ci/run.
#
#   bash scripts/s3-test.sh            install Garage if needed, start it on 127.0.0.1 with a temporary data
#                                      directory, create a bucket and a key, run the opt-in tests, stop it
#   bash scripts/s3-test.sh install    only install Garage (idempotent)
#
# Garage is built once (30 minutes or more on 2 busy cores) into ${CARGO_TARGET_DIR:-target}/s3-tools and reused.
# Ports: GARITA_S3_PORT (default 39900) for the S3 API, +1 RPC, +2 admin; all on loopback.
#
# GARITA_S3_SERVER=moto runs the same tests against moto's S3 mock (PyPI `moto[server]`, installed with pip if
# missing) instead: a quick check of the wiring where Garage is not built yet; it is a mock, not a real server.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
target="${CARGO_TARGET_DIR:-$repo/target}"
tools="$target/s3-tools"
garage="$tools/bin/garage"
garage_version="2.5.0"
port="${GARITA_S3_PORT:-39900}"
bucket="garita-test"
region="garage"

install_garage() {
  if [[ -x "$garage" ]] && "$garage" --version 2>/dev/null | grep -q "$garage_version"; then
    return 0
  fi
  echo "s3-test: installing Garage $garage_version into $tools (one-time build)" >&2
  mkdir -p "$tools"
  # Only the SQLite metadata engine (bundled): no LMDB, metrics or K2V, to keep the build small.
  CARGO_TARGET_DIR="$tools/build" CARGO_PROFILE_RELEASE_DEBUG=0 \
    cargo install garage --version "$garage_version" --locked \
    --no-default-features --features bundled-libs,sqlite --root "$tools"
  rm -rf "$tools/build"
}

server_kind="${GARITA_S3_SERVER:-garage}"
case "$server_kind" in
  garage) install_garage ;;
  moto)
    python3 -c 'import moto.server, boto3' 2>/dev/null || python3 -m pip install --quiet 'moto[server]'
    ;;
  *)
    echo "s3-test: GARITA_S3_SERVER must be garage or moto" >&2
    exit 2
    ;;
esac
if [[ "${1:-}" == "install" ]]; then
  exit 0
fi

mkdir -p "$tools"
run="$(mktemp -d "$tools/run.XXXXXX")"
server_pid=""
cleanup() {
  if [[ -n "$server_pid" ]]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$run"
}
trap cleanup EXIT

start_moto() {
  python3 -m moto.server -H 127.0.0.1 -p "$port" >"$run/moto.log" 2>&1 &
  server_pid=$!
  access_key="garita-test"
  secret_key="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  region="us-east-1"
  for _ in $(seq 1 60); do
    if python3 - "$port" "$bucket" 2>/dev/null <<'PY'
import sys, boto3
s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", region_name="us-east-1",
                  aws_access_key_id="garita-test", aws_secret_access_key="unused")
s3.create_bucket(Bucket=sys.argv[2])
PY
    then
      return 0
    fi
    sleep 0.5
  done
  echo "s3-test: moto did not start:" >&2
  cat "$run/moto.log" >&2
  exit 1
}

start_garage() {
  rpc_secret="$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  admin_token="$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  cat >"$run/garage.toml" <<EOF
metadata_dir = "$run/meta"
data_dir = "$run/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$((port + 1))"
rpc_public_addr = "127.0.0.1:$((port + 1))"
rpc_secret = "$rpc_secret"

[s3_api]
s3_region = "$region"
api_bind_addr = "127.0.0.1:$port"
root_domain = ".s3.garage.localhost"

[admin]
api_bind_addr = "127.0.0.1:$((port + 2))"
admin_token = "$admin_token"
EOF

  g() { "$garage" -c "$run/garage.toml" "$@"; }

  RUST_LOG=warn "$garage" -c "$run/garage.toml" server >"$run/garage.log" 2>&1 &
  server_pid=$!
  for _ in $(seq 1 60); do
    if g status >/dev/null 2>&1; then
      break
    fi
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "s3-test: Garage exited:" >&2
      cat "$run/garage.log" >&2
      exit 1
    fi
    sleep 0.5
  done
  g status >/dev/null

  node="$(g node id -q 2>/dev/null | cut -c1-64)"
  g layout assign -z dc1 -c 1G "$node" >/dev/null
  g layout apply --version 1 >/dev/null
  g bucket create "$bucket" >/dev/null
  key_json="$(g json-api CreateKey '{"name":"garita-test"}')"
  json_field() { printf '%s' "$key_json" | tr -d '\n' | sed -n "s/.*\"$1\" *: *\"\([^\"]*\)\".*/\1/p"; }
  access_key="$(json_field accessKeyId)"
  secret_key="$(json_field secretAccessKey)"
  if [[ -z "$access_key" || -z "$secret_key" ]]; then
    echo "s3-test: could not create an access key" >&2
    exit 1
  fi
  g bucket allow --read --write --owner "$bucket" --key "$access_key" >/dev/null
}

if [[ "$server_kind" == "moto" ]]; then
  start_moto
else
  start_garage
fi
echo "s3-test: $server_kind on 127.0.0.1:$port, bucket $bucket, key $access_key" >&2

export GARITA_TEST_S3_URL="s3://$bucket"
export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
export AWS_ACCESS_KEY_ID="$access_key"
export AWS_SECRET_ACCESS_KEY="$secret_key"
export AWS_REGION="$region"
export AWS_ALLOW_HTTP=true
export CARGO_PROFILE_DEV_DEBUG="${CARGO_PROFILE_DEV_DEBUG:-0}" CARGO_PROFILE_TEST_DEBUG="${CARGO_PROFILE_TEST_DEBUG:-0}"

cargo test -p garita-store --test s3 -- --nocapture
cargo test -p garita-server --test api s3:: -- --nocapture
cargo test -p garita --test cli serve_keeps_blobs_in_s3 -- --nocapture
# Three cluster nodes with their blobs, log tiles and checkpoints in the bucket (needs PostgreSQL).
eval "$(bash scripts/postgres.sh env)"
cargo test -p garita --test cluster three_nodes -- --nocapture
echo "s3-test: passed" >&2
