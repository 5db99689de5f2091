# Functions shared by the sandbox scripts (sourced, not run).
SANDBOX_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$SANDBOX_SRC/config.sh"

log() { printf '[sandbox %3ss] %s\n' "$SECONDS" "$*"; }
die() { printf '[sandbox] ERROR: %s\n' "$*" >&2; exit 1; }

# ---------- packages ----------
# iptables: netavark needs it to set up the bridge network ("netavark: No such file").
APT_PACKAGES=(podman podman-compose runc conmon netavark aardvark-dns iptables docker-registry
  openssh-server openssh-client nginx busybox-static curl jq util-linux iproute2)
NEEDED_COMMANDS=(podman podman-compose runc netavark iptables docker-registry sshd ssh ssh-keygen
  nginx busybox curl jq flock ss)

have_commands() {
  local c
  for c in "${NEEDED_COMMANDS[@]}"; do
    command -v "$c" >/dev/null || [[ -x /usr/sbin/$c || -x /usr/lib/podman/$c ]] || return 1
  done
  [[ -x /usr/lib/podman/aardvark-dns ]]
}

install_packages() {
  if have_commands; then log "packages: already installed"; return; fi
  log "packages: apt-get update + install (${#APT_PACKAGES[@]} packages)"
  # The packages' postinst scripts would start a system sshd on :22, nginx on :80 and a
  # registry on :5000. Forbid service starts during the install (policy-rc.d exit 101).
  local policy=/usr/sbin/policy-rc.d created=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${APT_PACKAGES[@]}" >/dev/null
  if (( created )); then rm -f "$policy"; fi
  have_commands || die "some commands are still missing after apt-get install"
}

# take_lock "$0" "$@": re-run the calling script under the sandbox lock, so only one
# up/down/push-release runs at a time. flock -o: the daemons and containers (conmon) that
# the script starts must not inherit the lock's file descriptor and hold it forever.
take_lock() {
  [[ -n ${SANDBOX_LOCKED:-} ]] && return
  mkdir -p "$SANDBOX_STATE"
  SANDBOX_LOCKED=1 exec flock -o "$SANDBOX_STATE/.lock" bash "$@"
}

# Write stdin to file $1 only if the content differs; returns 0 when it changed.
write_if_changed() {
  local tmp; tmp=$(mktemp)
  cat >"$tmp"
  if [[ -f $1 ]] && cmp -s "$tmp" "$1"; then rm -f "$tmp"; return 1; fi
  mkdir -p "$(dirname "$1")"; mv "$tmp" "$1"; chmod 644 "$1"
}

# ---------- podman ----------
configure_podman() {
  if write_if_changed /etc/containers/containers.conf <<'CONF'; then log "podman: wrote /etc/containers/containers.conf"; fi
# Written by rollback-sandbox (sandbox/up.sh).
[containers]
# Hard limits above these are refused on this machine.
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]

[engine]
runtime = "runc"   # crun fails on this cgroup setup

[network]
network_backend = "netavark"   # the podman package also ships an unused CNI config
CONF
  write_if_changed /etc/containers/registries.conf.d/50-rollback-sandbox.conf <<CONF || true
# Written by rollback-sandbox: the local registry speaks plain http.
[[registry]]
location = "$REGISTRY"
insecure = true
CONF
}

# ---------- background daemons (no systemd) ----------
# pid_alive PIDFILE: the pid in PIDFILE is a live sandbox daemon (the command line names
# our state dir, so a pid reused after a reboot does not count).
pid_alive() { local pid; pid=$(cat "$1" 2>/dev/null) && grep -qs "$SANDBOX_STATE" "/proc/$pid/cmdline"; }

# stop_pid NAME PIDFILE: TERM the process, wait for it to go, remove the pid file.
stop_pid() {
  local name=$1 pidfile=$2 pid
  if pid_alive "$pidfile"; then
    pid=$(cat "$pidfile")
    kill "$pid"
    for _ in {1..50}; do grep -qs "$SANDBOX_STATE" "/proc/$pid/cmdline" || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    log "$name: stopped"
  fi
  rm -f "$pidfile"
}

# wait_for NAME COMMAND...: retry COMMAND for up to 15s.
wait_for() {
  local name=$1; shift
  for _ in {1..150}; do "$@" >/dev/null 2>&1 && return 0; sleep 0.1; done
  die "$name did not come up"
}

# ---------- registry (Debian's docker-registry, distribution 2.8) ----------
REGISTRY_PID=$SANDBOX_STATE/registry.pid

start_registry() {
  if write_if_changed "$SANDBOX_STATE/registry.yml" <<CONF; then stop_pid registry "$REGISTRY_PID"; fi
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $REGISTRY_DIR}
  delete: {enabled: true}
http:
  addr: $REGISTRY
CONF
  if ! pid_alive "$REGISTRY_PID"; then
    mkdir -p "$REGISTRY_DIR"
    # setsid: its own session, so it outlives the shell that started it.
    setsid docker-registry serve "$SANDBOX_STATE/registry.yml" \
      </dev/null >>"$SANDBOX_STATE/registry.log" 2>&1 &
    echo $! >"$REGISTRY_PID"
    log "registry: started on $REGISTRY (pid $!)"
  fi
  wait_for registry curl -fsS "http://$REGISTRY/v2/"
}

# ---------- sshd on 127.0.0.1:2222, its own config, keys and pid file ----------
SSHD_CONFIG=$SSH_DIR/sshd_config
SSHD_PID=$SSH_DIR/sshd.pid

make_ssh_keys() {
  mkdir -p "$SSH_DIR"; chmod 700 "$SSH_DIR"
  [[ -f $SSH_DIR/ssh_host_ed25519_key ]] || ssh-keygen -q -t ed25519 -N '' -C rollback-sandbox-host -f "$SSH_DIR/ssh_host_ed25519_key"
  [[ -f $SSH_KEY ]] || ssh-keygen -q -t ed25519 -N '' -C rollback-sandbox-client -f "$SSH_KEY"
  cp "$SSH_KEY.pub" "$SSH_DIR/authorized_keys"
  printf '[%s]:%s %s\n' "$SSH_HOST" "$SSH_PORT" "$(cut -d' ' -f1,2 "$SSH_DIR/ssh_host_ed25519_key.pub")" >"$SSH_KNOWN_HOSTS"
}

start_sshd() {
  make_ssh_keys
  if write_if_changed "$SSHD_CONFIG" <<CONF; then stop_pid sshd "$SSHD_PID"; fi  # restart on change
# rollback-sandbox sshd: loopback only, root by key only.
Port $SSH_PORT
ListenAddress $SSH_HOST
HostKey $SSH_DIR/ssh_host_ed25519_key
PidFile $SSHD_PID
AuthorizedKeysFile $SSH_DIR/authorized_keys
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
MaxSessions 20
MaxStartups 20:30:60
Subsystem sftp internal-sftp
CONF
  if ! pid_alive "$SSHD_PID"; then
    mkdir -p /run/sshd   # privilege separation dir, normally made by the init script
    /usr/sbin/sshd -f "$SSHD_CONFIG" -E "$SSH_DIR/sshd.log"
    wait_for "sshd pid file" test -s "$SSHD_PID"
    log "sshd: started on $SSH_HOST:$SSH_PORT (pid $(cat "$SSHD_PID"))"
  fi
  wait_for "ssh login" ssh_sandbox true
}

# ssh_sandbox CMD...: run CMD on the sandbox "server" the way a client would.
ssh_sandbox() {
  ssh -o BatchMode=yes -o UserKnownHostsFile="$SSH_KNOWN_HOSTS" -o StrictHostKeyChecking=yes \
    -i "$SSH_KEY" -p "$SSH_PORT" "$SSH_USER@$SSH_HOST" "$@"
}

# ---------- images ----------
# Images are built in a separate podman storage (the "CI"), so the server's own storage
# only holds what it pulled from the registry, as in production.
CI_DIR=$SANDBOX_STATE/ci
ci_podman() { podman --root "$CI_DIR/storage" --runroot "$CI_DIR/run" "$@"; }

repo_of() { echo "$REGISTRY/$REPO_PREFIX$1"; }
release_sha() { printf '%s-%s' "$1" "$2" | sha1sum | cut -c1-7; }      # deterministic SHA
release_version() { echo "$RELEASE_MONTH.$2-$(release_sha "$1" "$2")"; }  # 2026.01.4-f214c2d
newest_version() { release_version "$1" "$RELEASE_COUNT"; }
release_tags() { echo "$1" "${1%-*}" "${1##*-}"; }   # the pipeline's: 2026.01.4-f214c2d 2026.01.4 f214c2d
# field N of SERVICE_INFO: 1 compose service, 2 container, 3 own health path, 4 via nginx
svc_field() { local f; read -ra f <<<"${SERVICE_INFO[$1]}"; echo "${f[$2-1]}"; }

# rootfs_tar KIND (app|nginx): path of a cached rootfs tarball, rebuilt when its sources change.
rootfs_tar() {
  local kind=$1 tar=$CI_DIR/$1.tar root=$CI_DIR/rootfs-$1
  if [[ -f $tar && -z $(find "$SANDBOX_SRC/image" "$SANDBOX_SRC/lib.sh" -newer "$tar") ]]; then echo "$tar"; return; fi
  rm -rf "$root"; mkdir -p "$root"/{bin,etc,tmp,run,app}; chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  local applet lib
  for applet in $(busybox --list); do [[ -e $root/bin/$applet ]] || ln -s busybox "$root/bin/$applet"; done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  printf 'hosts: files dns\n' >"$root/etc/nsswitch.conf"
  install -m 755 "$SANDBOX_SRC/image/start.sh" "$root/start.sh"
  if [[ $kind == app ]]; then
    install -m 755 "$SANDBOX_SRC/image/http.sh" "$root/app/http.sh"
  else
    mkdir -p "$root"/{usr/sbin,etc/nginx,var/lib/nginx,var/log/nginx}
    cp /usr/sbin/nginx "$root/usr/sbin/"
    for lib in $(ldd /usr/sbin/nginx | grep -o '/[^ ]*'); do cp -L --parents "$lib" "$root"; done
    cp "$SANDBOX_SRC/image/nginx.conf" "$root/etc/nginx/"
    install -m 755 "$SANDBOX_SRC/image/nginx-start.sh" "$root/app/nginx-start.sh"
  fi
  tar -C "$root" --numeric-owner -cf "$tar" .
  echo "$tar"
}

# build_image SERVICE VERSION MODE SLOW_START: import into the CI storage as REPO:VERSION.
build_image() {
  local svc=$1 version=$2 mode=$3 slow=$4 kind=app cmd='["nc","-ll","-p","8080","-e","/app/http.sh"]' port=8080
  if [[ $svc == nginx ]]; then kind=nginx cmd='["/app/nginx-start.sh"]' port=80; fi
  ci_podman import -q \
    --change 'ENTRYPOINT ["/start.sh"]' --change "CMD $cmd" --change "EXPOSE $port" \
    --change "ENV SERVICE=$svc" --change "ENV APP_VERSION=$version" \
    --change "ENV HEALTH_PATH=$(svc_field "$svc" 3)" \
    --change "ENV RELEASE_MODE=$mode" --change "ENV SLOW_START=$slow" \
    --change "LABEL org.opencontainers.image.title=$REPO_PREFIX$svc" \
    --change "LABEL org.opencontainers.image.version=$version" \
    --change "LABEL org.opencontainers.image.revision=${version##*-}" \
    "$(rootfs_tar "$kind")" "$(repo_of "$svc"):$version" >/dev/null
}

# ---------- registry API ----------
MANIFEST_TYPES=application/vnd.oci.image.manifest.v1+json,application/vnd.docker.distribution.manifest.v2+json
reg_url() { echo "http://$REGISTRY/v2/$REPO_PREFIX$1"; }   # reg_url SERVICE
registry_tags() { curl -fsS "$(reg_url "$1")/tags/list" 2>/dev/null | jq -r '.tags[]?' || true; }
registry_digest() {   # registry_digest SERVICE TAG -> sha256:... (empty if absent)
  { curl -fsSI -H "Accept: $MANIFEST_TYPES" "$(reg_url "$1")/manifests/$2" 2>/dev/null || true; } |
    tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}'
}
# registry_retag SERVICE FROM TAG...: point TAGs at FROM's manifest (same digest), no re-push.
registry_retag() {
  local svc=$1 from=$2 tag body headers type; shift 2
  body=$(mktemp) headers=$(mktemp)
  curl -fsS -H "Accept: $MANIFEST_TYPES" -D "$headers" -o "$body" "$(reg_url "$svc")/manifests/$from"
  type=$(tr -d '\r' <"$headers" | awk 'tolower($1) == "content-type:" {print $2}')
  for tag in "$@"; do
    curl -fsS -X PUT -H "Content-Type: $type" --data-binary "@$body" "$(reg_url "$svc")/manifests/$tag" >/dev/null
  done
  rm -f "$body" "$headers"
}
registry_delete() { curl -fsS -X DELETE "$(reg_url "$1")/manifests/$2" >/dev/null; }  # SERVICE DIGEST

# push_release SERVICE VERSION-SHA MODE SLOW_START LATEST(yes|no): build, push, and tag
# with the pipeline's tags (release_tags), plus latest when asked.
push_release() {
  local svc=$1 version=$2 mode=$3 slow=$4 latest=$5 tags
  read -ra tags <<<"$(release_tags "$version")"
  [[ $latest == yes ]] && tags+=(latest)
  build_image "$svc" "$version" "$mode" "$slow"
  ci_podman push -q "$(repo_of "$svc"):$version"
  registry_retag "$svc" "${tags[@]}"   # from tags[0], the version just pushed
  log "registry: pushed $REPO_PREFIX$svc:$version (tags: ${tags[*]})"
}

# reset_registry SERVICE: the repository holds exactly the baseline releases, latest = newest.
# Extra releases pushed by tests are deleted (by digest, which removes all their tags).
reset_registry() {
  local svc=$1 tag n v wanted=latest digest present
  for n in $(seq 1 "$RELEASE_COUNT"); do wanted+=" $(release_tags "$(release_version "$svc" "$n")")"; done
  wanted=$(tr ' ' '\n' <<<"$wanted")
  for tag in $(registry_tags "$svc"); do
    grep -qx -- "$tag" <<<"$wanted" && continue
    digest=$(registry_digest "$svc" "$tag")   # empty once an earlier delete took this tag too
    if [[ -n $digest ]]; then registry_delete "$svc" "$digest"; log "registry: deleted extra $REPO_PREFIX$svc:$tag ($digest)"; fi
  done
  present=$(registry_tags "$svc")
  for n in $(seq 1 "$RELEASE_COUNT"); do
    v=$(release_version "$svc" "$n")
    for tag in $(release_tags "$v"); do
      grep -qx -- "$tag" <<<"$present" || { push_release "$svc" "$v" normal 0 no; break; }
    done
  done
  v=$(newest_version "$svc")
  if [[ $(registry_digest "$svc" latest) != "$(registry_digest "$svc" "$v")" ]]; then
    registry_retag "$svc" "$v" latest; log "registry: $REPO_PREFIX$svc:latest -> $v"
  fi
}

# ---------- the "production server": compose dir, images pulled, containers ----------
compose() { (cd "$COMPOSE_DIR" && podman-compose -f podman-compose.yaml "$@"); }

# write_compose_file: returns 0 when the file changed.
write_compose_file() {
  local svc
  {
    echo "# Shaped like production's infra/compose-prod (written by sandbox/up.sh)."
    echo "version: \"3\""
    echo "services:"
    for svc in "${SERVICES[@]}"; do
      echo "  $(svc_field "$svc" 1):"
      echo "    image: $(repo_of "$svc"):latest"
      echo "    container_name: $(svc_field "$svc" 2)"
      echo "    restart: unless-stopped"
      if [[ $svc == nginx ]]; then
        echo "    ports: [\"127.0.0.1:$HTTP_PORT:80\"]"
        echo "    depends_on: [back-central, front-central, front-website]"
      fi
    done
  } | write_if_changed "$COMPOSE_FILE"
}

is_sandbox_container() {   # NAME: one of the four compose containers
  local svc
  for svc in "${SERVICES[@]}"; do [[ $1 == "$(svc_field "$svc" 2)" ]] && return 0; done
  return 1
}

# Containers left by tests: any other container of our images or of the compose project.
remove_extra_containers() {
  local name image project
  while IFS='|' read -r name image project; do
    is_sandbox_container "$name" && continue
    [[ $image == "$REGISTRY/$REPO_PREFIX"* || $project == compose-prod ]] || continue
    podman rm -f "$name" >/dev/null && log "server: removed extra container $name"
  done < <(podman ps -a --format '{{.Names}}|{{.Image}}|{{index .Labels "io.podman.compose.project"}}')
}

# remove_local_images KEEP...: drop the server's local images of our repositories, except
# the names in KEEP (extra names on a kept image are untagged).
remove_local_images() {
  local keep=" $* " id name names
  for id in $(podman images --format json | jq -r --arg p "$REGISTRY/$REPO_PREFIX" \
      '.[] | select(any((.Names // [])[], (.RepoDigests // [])[]; startswith($p))) | .Id' | sort -u); do
    names=$(podman image inspect --format '{{join .RepoTags " "}}' "$id")
    if [[ $keep != *" ${names%% *} "* ]]; then
      podman rmi -f "$id" >/dev/null && log "server: removed image ${names:-$id}"
      continue
    fi
    for name in $names; do
      [[ $keep == *" $name "* ]] || { podman untag "$id" "$name"; log "server: removed tag $name"; }
    done
  done
}

# reset_server: every service's local :latest = newest release, the four containers run it.
reset_server() {
  local svc repo newest container recreate=() keep=()
  if write_compose_file; then
    log "compose: wrote $COMPOSE_FILE"
    compose down >>"$SANDBOX_STATE/compose.log" 2>&1 || true
  fi
  remove_extra_containers
  for svc in "${SERVICES[@]}"; do
    repo=$(repo_of "$svc") newest=$(newest_version "$svc") container=$(svc_field "$svc" 2)
    podman pull -q "$repo:$newest" >/dev/null
    podman tag "$repo:$newest" "$repo:latest"
    keep+=("$repo:$newest" "$repo:latest")
    # Recreate unless it runs :latest and was made by compose (a test may have made its own).
    if [[ $(podman container inspect "$container" 2>/dev/null --format \
            '{{.Image}} {{.State.Status}} {{index .Config.Labels "com.docker.compose.service"}}') \
          != "$(podman image inspect --format '{{.Id}}' "$repo:latest") running $(svc_field "$svc" 1)" ]]; then
      podman rm -f "$container" >/dev/null 2>&1 || true
      recreate+=("$(svc_field "$svc" 1)")
    fi
  done
  if (( ${#recreate[@]} )); then
    log "server: (re)creating ${recreate[*]}"
    # Name only these services: podman-compose 1.0.3 `up` tries `podman run` (and sleeps 1s)
    # for every service it is given, and exits 0 even when a run fails (wait_healthy checks).
    compose up -d "${recreate[@]}" >>"$SANDBOX_STATE/compose.log" 2>&1
    # nginx resolved the upstream names when it started: restart it to see new containers.
    [[ " ${recreate[*]} " == *" nginx "* ]] || podman restart nginx_prod >/dev/null
  fi
  remove_local_images "${keep[@]}"
}

# wait_healthy: every health path answers 200 through nginx with the newest version.
wait_healthy() {
  local svc url ok
  for _ in {1..60}; do
    ok=1
    for svc in "${SERVICES[@]}"; do
      url="http://127.0.0.1:$HTTP_PORT$(svc_field "$svc" 4)"
      [[ $(curl -fsS -m 2 "$url" 2>/dev/null | jq -r .version 2>/dev/null) == "$(newest_version "$svc")" ]] || { ok=0; break; }
    done
    (( ok )) && return 0
    sleep 0.5
  done
  podman ps -a >&2
  die "not healthy through nginx: $url"
}
