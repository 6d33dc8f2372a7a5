#!/usr/bin/env bash
# The whole test suite, as the README promises: installs what the tests need, then runs
# formatting, lints, the layering check, the generated-docs freshness check and every test,
# including interop with real clients (Python smtplib, swaks, curl). Nothing is skipped silently:
# a missing tool is installed, or the run fails.
set -euo pipefail
cd "$(dirname "$0")/.."

need_pkgs=()
command -v swaks >/dev/null || need_pkgs+=(swaks)
# swaks needs these for --tls / --tls-on-connect
perl -MNet::SSLeay -e1 2>/dev/null || need_pkgs+=(libnet-ssleay-perl)
perl -MIO::Socket::SSL -e1 2>/dev/null || need_pkgs+=(libio-socket-ssl-perl)
command -v curl >/dev/null || need_pkgs+=(curl)
command -v smtp-source >/dev/null || [ -x /usr/sbin/smtp-source ] || need_pkgs+=(postfix)
[ -x /usr/bin/python3 ] || need_pkgs+=(python3)
# the mailstore's interop test checks that Dovecot reads what calm writes and vice versa
command -v doveadm >/dev/null || need_pkgs+=(dovecot-core)
# the content scanner's tests start a real clamd with a signature database made in the test
[ -x /usr/sbin/clamd ] || need_pkgs+=(clamav-daemon)
# ... and a real spamd (SpamAssassin) as the optional extra score source
[ -x /usr/sbin/spamd ] || need_pkgs+=(spamassassin spamd)
# a real mail-sync client against the IMAP server
command -v mbsync >/dev/null || need_pkgs+=(isync)
# dkimpy verifies calm's DKIM signatures independently
/usr/bin/python3 -c 'import dkim' 2>/dev/null || need_pkgs+=(python3-dkim)
if ((${#need_pkgs[@]})); then
  echo "== installing test tools: ${need_pkgs[*]}"
  if [ "$(id -u)" != 0 ]; then echo "need root (or sudo) to apt-get install ${need_pkgs[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks debconf questions and must not start its own daemon on port 25.
  echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
  # and Dovecot must not start its own daemon either (policy-rc.d below)
  tmp_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; tmp_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}"
  [ "$tmp_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  # spamassassin's postinst imports the sa-update key and leaves a gpg-agent running: stop it.
  if [ -d /var/lib/spamassassin/sa-update-keys ]; then
    runuser -u debian-spamd -- gpgconf --homedir /var/lib/spamassassin/sa-update-keys --kill gpg-agent 2>/dev/null || true
  fi
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== layering: sans-IO crates do not depend on tokio"
for c in calm-smtp-proto calm-pop3-proto calm-imap-proto calm-sasl calm-mail-types; do
  if cargo tree -e normal -p "$c" --locked | grep -q ' tokio '; then
    echo "layering violation: $c depends on tokio" >&2; exit 1
  fi
done
echo "== tests"
cargo build --workspace --locked
cargo test --workspace --locked

echo "== fuzz targets build and survive a short run (nightly + cargo-fuzz)"
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
(
  cd fuzz
  cargo +nightly fuzz build
  for target in $(cargo +nightly fuzz list); do
    # content_parsers runs as calm ships (-O: no debug assertions): mail-parser 0.11 has a
    # debug_assert!(false) that hostile MIME reaches, compiled out of release builds.
    mode=()
    [ "$target" = content_parsers ] && mode=(-O)
    cargo +nightly fuzz run "${mode[@]}" "$target" "corpus/$target" -- -max_total_time="${CALM_FUZZ_SECONDS:-15}" -runs=2000000 2>&1 | tail -n 2
  done
)
echo "== all checks passed"
