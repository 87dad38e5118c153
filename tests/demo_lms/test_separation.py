"""The demo LMS is a separate app: ProctorFlow's web app serves no learner pages, the demo LMS
knows ProctorFlow only through its HTTP API, and it ships in neither ProctorFlow's package nor
its image."""

from __future__ import annotations

import re
import tomllib

import httpx

from tests.support.stack import Stack
from tests.test_layers import ROOT, imports, our_packages, python_files


async def test_the_web_app_serves_no_learner_pages(stack: Stack):
    async with httpx.AsyncClient(base_url=stack.base_url, timeout=10) as browser:
        answers = [
            await browser.get(path)
            for path in ("/learn/", "/learn/courses/c/lessons/l", "/learn/attempts/a/exam")
        ]

    assert [answer.status_code for answer in answers] == [404, 404, 404]


def test_the_demo_lms_imports_nothing_of_proctorflow():
    ours = our_packages() - {"demo_lms"}
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {target}"
        for path in python_files("demo_lms")
        for line, target in imports(path)
        if target.split(".")[0] in ours
    ]
    assert python_files("demo_lms"), "demo_lms/ holds no .py file: this test would check nothing"
    assert not found, "the demo LMS must use ProctorFlow's HTTP API only:\n  " + "\n  ".join(found)


def test_the_demo_lms_is_neither_packaged_nor_in_the_image():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    included = pyproject["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = re.findall(r"^COPY\s+(\S+)", (ROOT / "Dockerfile").read_text(), flags=re.MULTILINE)

    assert not any(re.match(pattern.replace("*", ".*"), "demo_lms") for pattern in included), included
    assert not {"demo_lms", "demo_lms/", ".", "./"} & set(copied), copied  # nor the whole tree
