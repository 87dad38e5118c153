"""The learner demo page: stands in for the LMS's proctored lesson page (SPEC "Learner flow")."""

from web.learn.pages import router

__all__ = ["router"]
