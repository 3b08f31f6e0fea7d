#!/usr/bin/env bash
# Installs the real services the test suite talks to. Idempotent: every step checks first and
# skips what is already there, so CI and developers can run it before every test run.
# Only acts as root (apt-get needs it); as another user it reports what is missing and leaves
# the tests to decide (they fail under CI=true, skip otherwise).
set -euo pipefail

export DEBIAN_FRONTEND=noninteractive

apt_updated=0

log() {
    echo "provision-test-deps: $*"
}

is_root() {
    [ "$(id -u)" -eq 0 ]
}

apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        log "apt-get update"
        apt-get update -qq
        apt_updated=1
    fi
}

apt_install() {
    apt_update_once
    log "apt-get install $*"
    apt-get install -y -qq --no-install-recommends "$@"
}

# dockerd (docker.io pulls containerd, runc and tini as hard dependencies; iptables too, although
# the tests start dockerd with --iptables=false). The docker CLI in docker.io is only a fallback:
# a newer CLI earlier on PATH negotiates the API version down.
provision_docker() {
    if command -v dockerd >/dev/null 2>&1; then
        log "dockerd present ($(dockerd --version)), nothing to do"
        return 0
    fi
    if ! is_root; then
        log "dockerd missing and not root: cannot install docker.io (docker tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    apt_install docker.io
    for tool in dockerd containerd runc docker; do
        command -v "$tool" >/dev/null 2>&1 || { log "$tool still missing after installing docker.io"; exit 1; }
    done
    log "installed docker.io: $(dockerd --version)"
}

# Ceph's RADOS Gateway with one mon and one memstore OSD: the real S3 implementation the S3 driver
# tests start (Registry.Tests/Support/CephRgw.cs). About 40 s to install, 2 s to start.
provision_ceph_rgw() {
    local missing=()
    for tool in radosgw ceph-mon ceph-osd monmaptool ceph radosgw-admin; do
        command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        log "ceph radosgw present ($(radosgw --version 2>/dev/null | head -1)), nothing to do"
        return 0
    fi
    if ! is_root; then
        log "missing ${missing[*]} and not root: cannot install radosgw ceph-mon ceph-osd (S3 tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    apt_update_once
    log "apt-get install radosgw ceph-mon ceph-osd"
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 radosgw ceph-mon ceph-osd
    for tool in radosgw ceph-mon ceph-osd monmaptool ceph radosgw-admin; do
        command -v "$tool" >/dev/null 2>&1 || { log "$tool still missing after installing radosgw ceph-mon ceph-osd"; exit 1; }
    done
    log "installed ceph radosgw: $(radosgw --version | head -1)"
}

# PostgreSQL 15 (Debian's postgresql; pg_trgm, which the index database's search needs, ships in the
# server package): the server the PostgreSQL index database tests start with initdb + pg_ctl
# (Registry.Tests/Support/PostgresServer.cs). About 1 s to start.
postgres_bin() {
    ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1
}

provision_postgresql() {
    local bin
    bin=$(postgres_bin)
    if [ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] && ls /usr/share/postgresql/*/extension/pg_trgm.control >/dev/null 2>&1; then
        log "postgresql present ($("$bin/postgres" --version)), nothing to do"
        return 0
    fi
    if ! is_root; then
        log "postgresql missing and not root: cannot install postgresql (PostgreSQL tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    apt_update_once
    log "apt-get install postgresql"
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 postgresql
    bin=$(postgres_bin)
    if [ -z "$bin" ] || [ ! -x "$bin/initdb" ] || [ ! -x "$bin/pg_ctl" ]; then
        log "initdb or pg_ctl still missing after installing postgresql"
        exit 1
    fi
    id postgres >/dev/null 2>&1 || { log "the postgres user is missing after installing postgresql"; exit 1; }
    log "installed postgresql: $("$bin/postgres" --version)"
}

# Redis 7 (Debian's redis-server): the server the Redis cache tests start on a random port without
# persistence (Registry.Tests/Support/RedisServer.cs). About 0.2 s to start.
provision_redis() {
    if command -v redis-server >/dev/null 2>&1; then
        log "redis-server present ($(redis-server --version | cut -d' ' -f1-3)), nothing to do"
        return 0
    fi
    if ! is_root; then
        log "redis-server missing and not root: cannot install redis-server (Redis tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    apt_update_once
    log "apt-get install redis-server"
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 redis-server
    command -v redis-server >/dev/null 2>&1 || { log "redis-server still missing after installing redis-server"; exit 1; }
    log "installed redis-server: $(redis-server --version | cut -d' ' -f1-3)"
}

# Debian's Go registry (distribution 2.8, package docker-registry) and skopeo: the upstream a mirror test
# pulls through and the peer the download benchmark compares with; skopeo is an independent OCI client.
# Only the binaries are used: the tests start `docker-registry serve` with their own config on 127.0.0.1.
provision_go_registry() {
    local missing=()
    command -v docker-registry >/dev/null 2>&1 || missing+=(docker-registry)
    command -v skopeo >/dev/null 2>&1 || missing+=(skopeo)
    if [ "${#missing[@]}" -eq 0 ]; then
        log "docker-registry present ($(docker-registry --version | awk '{print $3}')), skopeo present, nothing to do"
        return 0
    fi
    if ! is_root; then
        log "${missing[*]} missing and not root: cannot install (mirror tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    apt_update_once
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
    for tool in "${missing[@]}"; do
        command -v "$tool" >/dev/null 2>&1 || { log "$tool still missing after installing it"; exit 1; }
    done
    # The package's own service is not wanted; on machines with an init system it may have started one.
    if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
        systemctl disable --now docker-registry >/dev/null 2>&1 || true
    fi
    log "installed: $(docker-registry --version | awk '{print $3}'), $(skopeo --version)"
}
# The error-mail test's SMTP sink (python3 -m aiosmtpd with a Maildir handler) and the container-image test's
# offline base image (debootstrap --variant=minbase from the apt mirror) with busybox-static for a tiny image to push.
provision_ops_tools() {
    local missing=()
    python3 -c 'import aiosmtpd' >/dev/null 2>&1 || missing+=(python3-aiosmtpd)
    command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
    [ -x /bin/busybox ] || missing+=(busybox-static)
    if [ "${#missing[@]}" -eq 0 ]; then
        log "python3-aiosmtpd, debootstrap and busybox present, nothing to do"
        return 0
    fi
    if ! is_root; then
        log "${missing[*]} missing and not root: cannot install (error-mail and image tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    apt_update_once
    log "apt-get install ${missing[*]}"
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 "${missing[@]}"
}

# OpenLDAP's slapd and the ldap-utils (slappasswd) for the LDAP backend's tests (Registry.Tests/Support/Slapd.cs). The
# preseed keeps the package from creating a system database: the tests run their own slapd with a private config.
provision_ldap() {
    if command -v slapd >/dev/null 2>&1 && command -v slappasswd >/dev/null 2>&1; then
        log "slapd and ldap-utils present, nothing to do"
        return 0
    fi
    if ! is_root; then
        log "slapd or ldap-utils missing and not root: cannot install (LDAP tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    echo "slapd slapd/no_configuration boolean true" | debconf-set-selections
    apt_update_once
    log "apt-get install slapd ldap-utils"
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 slapd ldap-utils
}

# Debian's chromium: the browser the web interface tests drive with Playwright for .NET (ExecutablePath
# /usr/bin/chromium; Playwright's own browser download is never used). About 15 s to install.
provision_chromium() {
    if command -v chromium >/dev/null 2>&1; then
        log "chromium present ($(chromium --version 2>/dev/null | head -1)), nothing to do"
        return 0
    fi
    if ! is_root; then
        log "chromium missing and not root: cannot install chromium (browser tests will fail under CI=true, skip otherwise)"
        return 0
    fi
    apt_update_once
    log "apt-get install chromium"
    apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=600 chromium
    command -v chromium >/dev/null 2>&1 || { log "chromium still missing after installing it"; exit 1; }
}

main() {
    provision_docker
    provision_ceph_rgw
    provision_postgresql
    provision_redis
    provision_go_registry
    provision_ops_tools
    provision_ldap
    provision_chromium
}

main "$@"
