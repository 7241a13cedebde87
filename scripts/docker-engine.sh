#!/usr/bin/env bash
# Makes sure a Docker Engine answers on this host, and says what it did.
#   1. installs Debian's docker.io (+ iptables) when dockerd is missing;
#   2. if `docker info` already answers, does nothing more (never a second daemon);
#   3. else, when supervisord knows a `cloudnative-dockerd` program, starts it with supervisorctl (and starts
#      supervisord first when its config has that program but it is not running: a restarted machine);
#   4. else starts dockerd in the background (log /var/log/cloudnative/dockerd.log, pidfile
#      /run/cloudnative-dockerd.pid) and waits, bounded, until it answers.
# Idempotent: a second run prints "already running" and changes nothing.
set -euo pipefail

log_dir=/var/log/cloudnative
log_file=$log_dir/dockerd.log
pid_file=/run/cloudnative-dockerd.pid
wait_seconds=${DOCKER_ENGINE_WAIT_SECONDS:-60}
supervisor_config=/etc/supervisor/supervisord.conf
supervisor_program=/etc/supervisor/conf.d/cloudnative-dockerd.conf

say() { echo "docker-engine: $*"; }

daemon_answers() { timeout 10 docker info >/dev/null 2>&1; }

if ! command -v dockerd >/dev/null 2>&1 || ! command -v iptables >/dev/null 2>&1 \
  || ! command -v docker >/dev/null 2>&1; then
  say "installing docker.io and iptables from Debian"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends docker.io iptables >/dev/null; then
    apt-get update >/dev/null
    apt-get install -y --no-install-recommends docker.io iptables >/dev/null
  fi
else
  say "dockerd present: $(command -v dockerd)"
fi

if daemon_answers; then
  say "a daemon already answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

supervised() {
  command -v supervisorctl >/dev/null 2>&1 \
    && supervisorctl status cloudnative-dockerd 2>/dev/null \
    | grep -Eq '^cloudnative-dockerd +(RUNNING|STARTING|STOPPED|STOPPING|BACKOFF|EXITED|FATAL)'
}

# A machine restarted without systemd: the roles' supervisord config runs dockerd (and the containerd that
# daemon.json points it at), but nothing started supervisord, so a bare dockerd would wait for that containerd.
if [ -f "$supervisor_program" ] && command -v supervisord >/dev/null 2>&1 \
  && ! supervisorctl -c "$supervisor_config" pid >/dev/null 2>&1; then
  say "supervisord has $supervisor_program but is not running (a restarted machine?): starting it"
  supervisord -c "$supervisor_config"
fi

if supervised; then
  say "starting supervisor program cloudnative-dockerd"
  supervisorctl start cloudnative-dockerd || true
else
  if [ -f "$pid_file" ] && kill -0 "$(cat "$pid_file")" 2>/dev/null; then
    say "dockerd (pid $(cat "$pid_file")) is starting; waiting for it"
  else
    mkdir -p "$log_dir"
    say "starting dockerd in the background (log $log_file)"
    nohup dockerd --pidfile "$pid_file" >>"$log_file" 2>&1 </dev/null &
  fi
fi

for _ in $(seq 1 "$wait_seconds"); do
  if daemon_answers; then
    say "daemon answers (server $(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
  fi
  sleep 1
done
say "no Docker daemon answered within ${wait_seconds}s; last lines of $log_file:" >&2
tail -n 20 "$log_file" >&2 2>/dev/null || true
exit 1
