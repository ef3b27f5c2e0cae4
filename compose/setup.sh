#!/bin/sh
# Creates the identities once (idempotent): the data space CA and issuers, the catalogue, two participants.
set -eu
S=/state
[ -f "$S/trust/trust.toml" ] || gxc trust init --state-dir "$S/trust" --host 0.0.0.0 --port 8100 \
  --public-url http://trust:8100
[ -f "$S/catalog/catalog.toml" ] || gxc catalog init --state-dir "$S/catalog" --host 0.0.0.0 --port 8282 \
  --public-url http://catalog:8282 --name "Compose Federation Catalogue"
[ -f "$S/provider/gxc.toml" ] || gxc init --state-dir "$S/provider" --name "Compose Provider GmbH" \
  --host 0.0.0.0 --port 8181 --public-url http://provider:8181 --ca-dir "$S/trust/pki"
[ -f "$S/consumer/gxc.toml" ] || gxc init --state-dir "$S/consumer" --name "Compose Consumer AG" \
  --host 0.0.0.0 --port 8183 --public-url http://consumer:8183 --ca-dir "$S/trust/pki"
echo "identities ready in $S"
