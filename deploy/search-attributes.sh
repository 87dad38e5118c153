#!/bin/sh
# ProctorFlow's search attributes: ids and states only, never names or e-mails.
set -e
until temporal operator cluster health --address "$TEMPORAL_ADDRESS" >/dev/null 2>&1; do sleep 2; done
for attribute in CourseId LessonId LearnerId AttemptStatus ProctoringMethod ReviewState; do
  temporal operator search-attribute create --address "$TEMPORAL_ADDRESS" --name "$attribute" --type Keyword || true
done
