# Settings shared by the sandbox scripts (sourced, not run).
# shellcheck disable=SC2034  # used by the scripts that source this file
SANDBOX_STATE=/var/lib/rollback-sandbox

SSH_HOST=127.0.0.1
SSH_PORT=2222
SSH_USER=root
SSH_DIR=$SANDBOX_STATE/ssh
SSH_KEY=$SSH_DIR/id_ed25519          # client private key (generated at run time)
SSH_KNOWN_HOSTS=$SSH_DIR/known_hosts

REGISTRY=127.0.0.1:5050
REGISTRY_DIR=$SANDBOX_STATE/registry
REPO_PREFIX=probability-             # repositories: probability-backend, ...

HTTP_PORT=8088                       # nginx_prod publishes 127.0.0.1:8088 -> 80
COMPOSE_DIR=$SANDBOX_STATE/probability/infra/compose-prod
COMPOSE_FILE=$COMPOSE_DIR/podman-compose.yaml

# Baseline releases pushed by up.sh: 2026.01.1 .. 2026.01.6; the last one is :latest.
RELEASE_MONTH=2026.01
RELEASE_COUNT=6

SERVICES=(backend frontend website nginx)
# service -> "compose-service container own-health-path health-path-through-nginx"
declare -A SERVICE_INFO=(
  [backend]="back-central backend_prod /api/v1/health /api/v1/health"
  [frontend]="front-central frontend_prod /health /health"
  [website]="front-website website_prod /health /website/health"
  [nginx]="nginx nginx_prod /nginx-health /nginx-health"
)
