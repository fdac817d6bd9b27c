#!/usr/bin/env bash
# Opt-in soak of the field terminal (issue #9): a kit queues 1,000 captures offline, then the link returns and the
# agent drains them into a real `garita serve`; the test checks exactly-once, order, byte identity and proofs, and
# writes its report to target/tmp/terminal-faults/offline_drain_1000.json. A few minutes on a small machine.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --test terminal_faults -- --ignored --nocapture offline_drain_of_1000_captures
