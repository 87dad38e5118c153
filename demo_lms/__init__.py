"""The demo LMS: a small LMS of its own, for a person trying ProctorFlow.

A separate web app and a client of ProctorFlow's public API (`/api/v1`, its organisation's bearer
token) like any real LMS: learners pick a demo identity, open a proctored lesson (every load
opens the attempt), set up in ProctorFree, take the quiz ProctorFree returns them to, press
FINISH, and watch their progress change from the events ProctorFlow delivers to it. It imports
nothing of ProctorFlow's and is never part of its package or image: `python -m demo_lms`.
"""
