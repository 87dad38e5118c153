"""The web app: the LMS API (/api/v1), the reviewer UI (/review) and the learner demo (/learn)."""
