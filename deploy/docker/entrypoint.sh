#!/bin/sh
# The image's entrypoint: the command names the service (docker run ensemble gateway). It runs under tini
# (PID 1), which forwards SIGTERM to node; every service drains on SIGTERM and exits by itself.
set -eu

# The runtime layout's root (/app in the image): this file is its deploy/docker/entrypoint.sh.
root=$(cd "$(dirname "$0")/../.." && pwd)

usage() {
  echo "usage: <image> gateway|orchestrator|planning-agent|reasoning-agent|rag-agent|mcp-tools|mock-agent|sim-llm|embedded-postgres|cli [args...]" >&2
  echo "       <image> healthcheck [service]" >&2
}

service="${1:-}"
case "$service" in
  gateway | orchestrator | planning-agent | reasoning-agent | rag-agent | mcp-tools | sim-llm | embedded-postgres | cli)
    app="$service" ;;
  mock-agent)
    app=mock-agents ;;
  healthcheck)
    shift
    exec node "$root/tools/image/dist/healthcheck.js" "$@" ;;
  "" | -h | --help | help)
    usage
    exit 0 ;;
  *)
    echo "unknown service: $service" >&2
    usage
    exit 64 ;;
esac
shift
exec node --enable-source-maps "$root/apps/$app/dist/main.js" "$@"
