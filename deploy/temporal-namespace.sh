#!/bin/sh
# ProctorFlow's Temporal namespace, with its retention, on a self-hosted server (the compose
# file's `temporal-setup` job; any host with the `temporal` CLI). Idempotent: an existing
# namespace keeps its settings but gets this retention. Temporal Cloud namespaces are made with
# `tcld` instead (docs/deploy.md).
#
# Retention is how long Temporal keeps a closed workflow's history: it never touches a running
# one. Keep it well past an attempt's length (up to about 3 days, event delivery retries
# included) so a closed attempt can still be read, replayed and reconciled.
set -eu
ADDRESS=${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS (host:port of the frontend)}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
RETENTION=${TEMPORAL_NAMESPACE_RETENTION:-7d}
TRIES=${TEMPORAL_SETUP_TRIES:-60}

# Each step is tried again every 2 s, $TRIES times: the server may still be starting, and a new
# namespace takes a few seconds (the frontend's namespace cache) to answer.
retry() {
    tries=0
    until "$@"; do
        tries=$((tries + 1))
        if [ "$tries" -ge "$TRIES" ]; then
            echo "temporal-namespace: gave up after $TRIES tries: $*" >&2
            exit 1
        fi
        sleep 2
    done
}

retry temporal operator cluster health --address "$ADDRESS"
if temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null 2>&1; then
    retry temporal operator namespace update --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
else
    temporal operator namespace create --address "$ADDRESS" --namespace "$NAMESPACE" --retention "$RETENTION"
fi
# Ready when it answers: the search attributes (the next step) need it.
retry temporal operator namespace describe --address "$ADDRESS" --namespace "$NAMESPACE" >/dev/null
echo "temporal-namespace: $NAMESPACE is there with retention $RETENTION"
