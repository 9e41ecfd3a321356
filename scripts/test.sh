#!/usr/bin/env bash
# Installs what the tests talk to (a real SMTP server, an AWS-compatible server, the
# OpenTelemetry SDK's exporter, PostgreSQL's binaries, nginx, iproute2, iptables, Chromium
# with playwright-core) if missing,
# then runs every test. Without CI=true, a test whose outside program is still missing
# skips with a printed reason; with CI=true it fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  echo "installing aiosmtpd (real SMTP server for the e-mail tests)"
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd || echo "warning: could not install aiosmtpd"
fi

if ! python3 -c 'import moto.server, boto3' 2>/dev/null; then
  echo "installing moto[server] (AWS-compatible server for the EC2, SNS and CloudWatch Logs tests)"
  python3 -m pip install --quiet --disable-pip-version-check 'moto[server]' || echo "warning: could not install moto"
fi

if ! python3 -c 'import opentelemetry.sdk._logs, opentelemetry.exporter.otlp.proto.http._log_exporter' 2>/dev/null; then
  echo "installing the OpenTelemetry Python SDK (a real OTLP/HTTP exporter for the log intake tests)"
  python3 -m pip install --quiet --disable-pip-version-check opentelemetry-sdk opentelemetry-exporter-otlp-proto-http || echo "warning: could not install the OpenTelemetry SDK"
fi

if ! command -v initdb >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing PostgreSQL binaries (throwaway clusters for the PostgreSQL tests)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || echo "warning: could not install postgresql"
  else
    echo "warning: PostgreSQL binaries (initdb, pg_ctl) not found; PostgreSQL tests will skip"
  fi
fi

if ! command -v openssl >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing openssl (test certificates for the HTTPS probe tests)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null || echo "warning: could not install openssl"
fi

# nginx (a real reverse proxy in front of dead and slow backends), iproute2 and iptables
# (network namespaces with a firewall, for the filtered, rejected and unroutable cases),
# amtool (prometheus-alertmanager: routes resolved and drawn alike, the API v2 client)
# and prometheus (an alert rule sending to Vigil's API v2).
missing=""
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing="$missing nginx"
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v iptables >/dev/null 2>&1 || [ -x /usr/sbin/iptables ] || missing="$missing iptables"
command -v amtool >/dev/null 2>&1 || missing="$missing prometheus-alertmanager"
command -v prometheus >/dev/null 2>&1 || missing="$missing prometheus"
[ -e /usr/share/zoneinfo/Australia/Sydney ] || missing="$missing tzdata"
if [ -n "$missing" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing$missing (the diagnose tests' proxy and firewall, amtool, prometheus)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || echo "warning: could not install$missing"
  else
    echo "warning:$missing not found; the nginx, network-namespace, amtool and prometheus tests will skip"
  fi
fi
export PATH="$PATH:/usr/sbin:/sbin"

# Debian's Chromium and playwright-core (pinned in crates/vigil/tests/browser) for the
# browser tests of the UI and the status page.
if ! [ -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing chromium (the browser tests of the UI)"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null || echo "warning: could not install chromium"
  else
    echo "warning: chromium not found; the browser tests will skip"
  fi
fi
if ! [ -f crates/vigil/tests/browser/node_modules/playwright-core/package.json ]; then
  if command -v npm >/dev/null 2>&1; then
    echo "installing playwright-core (drives Chromium in the browser tests)"
    (cd crates/vigil/tests/browser && npm ci --no-audit --no-fund --loglevel=error) || echo "warning: could not install playwright-core"
  else
    echo "warning: npm not found; the browser tests will skip"
  fi
fi

cargo test --workspace --locked "$@"
