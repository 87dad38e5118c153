"""The web app: the LMS API (/api/v1), the reviewer UI (/review) and the codec endpoint (/codec)."""
