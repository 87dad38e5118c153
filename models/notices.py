"""E-mail notices, as words: the built-in wording of each kind in each locale, the placeholders
a template may use, how a template is filled in, and each notice's key.

Pure: `store/notices.py` queues notices with these, `proctorflow/mail.py` sends them.

A template is plain text with `{placeholders}`; a placeholder the notice does not know is left as
it is written (never an error: an organisation's template can never stop a step being recorded).
Filling in is a plain substitution of `{name}` (no format specs, no attribute access).

| placeholder | in | what |
| --- | --- | --- |
| `{learner_name}` | learner_submitted, learner_decided | the learner's name (from the Learner table) |
| `{course_title}`, `{lesson_title}` | every kind but the digest | the catalog's titles |
| `{attempt_id}` | every kind but the digest | the attempt |
| `{decision}` | learner_decided | passed / failed, in the organisation's locale |
| `{why}` | escalation | overdue / the reviewers disagree, in words |
| `{due_at}` | escalation | when the task was due (UTC), or "-" |
| `{task_url}` | escalation | the task in the reviewer UI |
| `{date}`, `{count}` | reviewer_digest | the day; how many tasks are ready for review |
| `{tasks}` | reviewer_digest | one line per task: id, course, lesson, ready since (no learner) |
| `{review_url}` | reviewer_digest | the reviewer UI's list of tasks |
| `{sender_name}` | every kind | the organisation's sender name |

Links (`{task_url}`, `{review_url}`) are completed with ProctorFlow's public URL when the notice is
sent: the stored notice holds `{public_url}` in their place (`PUBLIC_URL`).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

LOCALES = ("en", "fr", "de", "es")
PUBLIC_URL = "{public_url}"  # completed by the sender with PROCTORFLOW_PUBLIC_URL
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")
SUBJECT_MAX = 200
DIGEST_MAX_TASKS = 100  # tasks listed in one digest; the rest are counted ("… and 12 more")


@dataclass(frozen=True)
class Wording:
    subject: str
    body: str


def fill(template: str, context: Mapping[str, object]) -> str:
    """`template` with each `{name}` the context knows replaced by its value."""

    def value(found: re.Match[str]) -> str:
        name = found[1]
        return str(context[name]) if name in context else found[0]

    return PLACEHOLDER.sub(value, template)


def subject_line(text: str) -> str:
    """A subject on one line (a header never holds a line break), at most SUBJECT_MAX long."""
    line = " ".join(text.split())
    return line if len(line) <= SUBJECT_MAX else line[: SUBJECT_MAX - 1].rstrip() + "…"


def notice_key(kind: str, *parts: object) -> str:
    """A notice's key and id: its kind and what it is about (ids only: it names the notice's
    workflow in Temporal). The same key twice is the same notice, queued once."""
    return ":".join([kind, *(str(part) for part in parts)])


def message_id(notice_id: str, sender: str) -> str:
    """The notice's Message-ID, the same on every try: a receiver (or a person) can tell a copy
    sent again after a lost acknowledgement from a new message."""
    domain = sender.rsplit("@", 1)[-1].strip(" >") or "proctorflow.invalid"
    unique = uuid.uuid5(uuid.NAMESPACE_URL, f"proctorflow-notice:{notice_id}")
    return f"<notice-{unique.hex}@{domain}>"


def when(moment: datetime | None) -> str:
    """A time as notices write it: the same in every locale, in UTC."""
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else "-"


# --- The built-in wording ------------------------------------------------------------------

DECISIONS: dict[str, dict[str, str]] = {
    "en": {"pass": "passed", "fail": "failed"},
    "fr": {"pass": "validée", "fail": "refusée"},
    "de": {"pass": "bestanden", "fail": "nicht bestanden"},
    "es": {"pass": "aprobado", "fail": "no aprobado"},
}

ESCALATION_REASONS: dict[str, dict[str, str]] = {
    "en": {"overdue": "it was not decided by its due time", "disagreement": "the two reviewers disagree"},
    "fr": {
        "overdue": "elle n'a pas été décidée dans les délais",
        "disagreement": "les deux correcteurs ne sont pas d'accord",
    },
    "de": {
        "overdue": "sie wurde nicht rechtzeitig entschieden",
        "disagreement": "die beiden Prüfenden sind sich nicht einig",
    },
    "es": {
        "overdue": "no se decidió a tiempo",
        "disagreement": "los dos revisores no están de acuerdo",
    },
}

# One line of the digest per task; `{task_id}`, `{course_title}`, `{lesson_title}`, `{ready_at}`.
DIGEST_LINES: dict[str, str] = {
    "en": "- {course_title} / {lesson_title}: ready since {ready_at} (task {task_id})",
    "fr": "- {course_title} / {lesson_title} : prête depuis le {ready_at} (tâche {task_id})",
    "de": "- {course_title} / {lesson_title}: bereit seit {ready_at} (Aufgabe {task_id})",
    "es": "- {course_title} / {lesson_title}: lista desde {ready_at} (tarea {task_id})",
}
DIGEST_MORE: dict[str, str] = {
    "en": "… and {count} more",
    "fr": "… et {count} de plus",
    "de": "… und {count} weitere",
    "es": "… y {count} más",
}

BUILT_IN: dict[str, dict[str, Wording]] = {
    "en": {
        "learner_submitted": Wording(
            "We received your attempt: {lesson_title}",
            "Hello {learner_name},\n\n"
            'your proctored attempt at "{lesson_title}" ({course_title}) was submitted. A reviewer will '
            "check the recording; we will write again when it is decided.\n\n"
            "Attempt: {attempt_id}\n\n{sender_name}\n",
        ),
        "learner_decided": Wording(
            "Your attempt at {lesson_title}: {decision}",
            "Hello {learner_name},\n\n"
            'the proctoring of your attempt at "{lesson_title}" ({course_title}) was reviewed: '
            "{decision}.\n\n"
            "Attempt: {attempt_id}\n\n{sender_name}\n",
        ),
        "escalation": Wording(
            "Review task escalated: {course_title} / {lesson_title}",
            "A proctoring review task needs attention: {why}.\n\n"
            "Course: {course_title}\nLesson: {lesson_title}\nAttempt: {attempt_id}\nDue: {due_at}\n"
            "Task: {task_url}\n\n{sender_name}\n",
        ),
        "reviewer_digest": Wording(
            "Proctoring reviews waiting on {date}: {count}",
            "{count} proctoring review tasks are ready for review:\n\n{tasks}\n\n"
            "Review them at {review_url}\n\n{sender_name}\n",
        ),
    },
    "fr": {
        "learner_submitted": Wording(
            "Nous avons reçu votre tentative : {lesson_title}",
            "Bonjour {learner_name},\n\n"
            "votre tentative surveillée pour « {lesson_title} » ({course_title}) a bien été envoyée. "
            "Un correcteur va examiner l'enregistrement ; nous vous écrirons dès qu'une décision "
            "sera prise.\n\n"
            "Tentative : {attempt_id}\n\n{sender_name}\n",
        ),
        "learner_decided": Wording(
            "Votre tentative pour {lesson_title} : {decision}",
            "Bonjour {learner_name},\n\n"
            "la surveillance de votre tentative pour « {lesson_title} » ({course_title}) a été "
            "examinée : {decision}.\n\n"
            "Tentative : {attempt_id}\n\n{sender_name}\n",
        ),
        "escalation": Wording(
            "Tâche de correction signalée : {course_title} / {lesson_title}",
            "Une tâche de correction demande votre attention : {why}.\n\n"
            "Cours : {course_title}\nLeçon : {lesson_title}\nTentative : {attempt_id}\n"
            "Échéance : {due_at}\nTâche : {task_url}\n\n{sender_name}\n",
        ),
        "reviewer_digest": Wording(
            "Corrections en attente le {date} : {count}",
            "{count} tâches de correction sont prêtes :\n\n{tasks}\n\n"
            "Pour les traiter : {review_url}\n\n{sender_name}\n",
        ),
    },
    "de": {
        "learner_submitted": Wording(
            "Ihr Versuch ist eingegangen: {lesson_title}",
            "Hallo {learner_name},\n\n"
            "Ihr beaufsichtigter Versuch „{lesson_title}“ ({course_title}) wurde eingereicht. Die "
            "Aufzeichnung wird geprüft; wir schreiben Ihnen, sobald entschieden ist.\n\n"
            "Versuch: {attempt_id}\n\n{sender_name}\n",
        ),
        "learner_decided": Wording(
            "Ihr Versuch „{lesson_title}“: {decision}",
            "Hallo {learner_name},\n\n"
            "die Aufsicht Ihres Versuchs „{lesson_title}“ ({course_title}) wurde geprüft: "
            "{decision}.\n\n"
            "Versuch: {attempt_id}\n\n{sender_name}\n",
        ),
        "escalation": Wording(
            "Prüfaufgabe eskaliert: {course_title} / {lesson_title}",
            "Eine Prüfaufgabe braucht Aufmerksamkeit: {why}.\n\n"
            "Kurs: {course_title}\nLektion: {lesson_title}\nVersuch: {attempt_id}\nFällig: {due_at}\n"
            "Aufgabe: {task_url}\n\n{sender_name}\n",
        ),
        "reviewer_digest": Wording(
            "Offene Prüfungen am {date}: {count}",
            "{count} Prüfaufgaben sind bereit:\n\n{tasks}\n\nZur Prüfung: {review_url}\n\n{sender_name}\n",
        ),
    },
    "es": {
        "learner_submitted": Wording(
            "Hemos recibido su intento: {lesson_title}",
            "Hola, {learner_name}:\n\n"
            "su intento supervisado de «{lesson_title}» ({course_title}) se ha enviado. Un revisor "
            "comprobará la grabación; le escribiremos cuando se haya decidido.\n\n"
            "Intento: {attempt_id}\n\n{sender_name}\n",
        ),
        "learner_decided": Wording(
            "Su intento de {lesson_title}: {decision}",
            "Hola, {learner_name}:\n\n"
            "la supervisión de su intento de «{lesson_title}» ({course_title}) se ha revisado: "
            "{decision}.\n\n"
            "Intento: {attempt_id}\n\n{sender_name}\n",
        ),
        "escalation": Wording(
            "Tarea de revisión escalada: {course_title} / {lesson_title}",
            "Una tarea de revisión necesita atención: {why}.\n\n"
            "Curso: {course_title}\nLección: {lesson_title}\nIntento: {attempt_id}\n"
            "Vence: {due_at}\nTarea: {task_url}\n\n{sender_name}\n",
        ),
        "reviewer_digest": Wording(
            "Revisiones pendientes el {date}: {count}",
            "{count} tareas de revisión están listas:\n\n{tasks}\n\n"
            "Revíselas en {review_url}\n\n{sender_name}\n",
        ),
    },
}


def built_in(kind: str, locale: str) -> Wording:
    """The built-in wording of a kind in a locale (English for a locale without one)."""
    return BUILT_IN.get(locale, BUILT_IN["en"])[kind]


def decision_words(decision: str, locale: str) -> str:
    return DECISIONS.get(locale, DECISIONS["en"]).get(decision, decision)


def escalation_words(why: str, locale: str) -> str:
    return ESCALATION_REASONS.get(locale, ESCALATION_REASONS["en"]).get(why, why)


def task_path(task_id: str) -> str:
    return f"{PUBLIC_URL}/review/tasks/{task_id}"


def review_path() -> str:
    return f"{PUBLIC_URL}/review/tasks"


def digest_list(tasks: list[Mapping[str, object]], locale: str) -> str:
    """The digest's `{tasks}`: one line per task, at most DIGEST_MAX_TASKS, then how many more."""
    line = DIGEST_LINES.get(locale, DIGEST_LINES["en"])
    lines = [fill(line, task) for task in tasks[:DIGEST_MAX_TASKS]]
    if len(tasks) > DIGEST_MAX_TASKS:
        more = DIGEST_MORE.get(locale, DIGEST_MORE["en"])
        lines.append(fill(more, {"count": len(tasks) - DIGEST_MAX_TASKS}))
    return "\n".join(lines)
