#!/bin/sh
# ProctorFlow's search attributes, ids and states only, never names or e-mails: the list is
# workflows/search_attributes.py's ALL (tests/deploy/test_temporal_scripts.py keeps the two the
# same). Run after deploy/temporal-namespace.sh; `proctorflow setup` does the same from Python.
# Idempotent: the server skips an attribute the namespace has. A call that keeps failing stops it.
set -eu
ADDRESS=${TEMPORAL_ADDRESS:?set TEMPORAL_ADDRESS (host:port of the frontend)}
NAMESPACE=${TEMPORAL_NAMESPACE:-default}
TRIES=${TEMPORAL_SETUP_TRIES:-60}
# name:type, as workflows/search_attributes.py declares them
ATTRIBUTES="CourseId:Keyword LessonId:Keyword LearnerId:Keyword AttemptStatus:Keyword ProctoringMethod:Keyword
ReviewState:Keyword ReviewAssignee:Keyword ReviewDueAt:Datetime"

# One call per attribute: the CLI takes several --name flags but registers the first alone.
# A namespace created a moment ago takes a few seconds to answer: each call is tried every 2 s,
# $TRIES times.
for pair in $ATTRIBUTES; do
    attribute=${pair%%:*}
    type=${pair#*:}
    tries=0
    until temporal operator search-attribute create --address "$ADDRESS" --namespace "$NAMESPACE" \
        --name "$attribute" --type "$type"; do
        tries=$((tries + 1))
        if [ "$tries" -ge "$TRIES" ]; then
            echo "search-attributes: gave up on $attribute after $TRIES tries" >&2
            exit 1
        fi
        sleep 2
    done
done
echo "search-attributes: $ATTRIBUTES in namespace $NAMESPACE"
